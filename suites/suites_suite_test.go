package suites_test

import (
	"testing"

	_ "github.com/onsi/ginkgo/v2" // tells the ginkgo CLI this package is a Ginkgo suite

	"github.com/retrylab/retrylab/apitest"
)

func TestSuites(t *testing.T) {
	apitest.RunSpecs(t, "suites")
}
