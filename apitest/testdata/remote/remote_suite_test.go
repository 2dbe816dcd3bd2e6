//go:build retrylab_testdata

package remote

import (
	"testing"

	_ "github.com/onsi/ginkgo/v2" // tells the ginkgo CLI this package is a Ginkgo suite

	"github.com/retrylab/retrylab/apitest"
)

func TestRemote(t *testing.T) {
	apitest.RunSpecs(t, "remote")
}
