package apitest_test

import (
	"testing"

	"github.com/retrylab/retrylab/apitest"
)

func TestApitest(t *testing.T) {
	apitest.RunSpecs(t, "apitest")
}
