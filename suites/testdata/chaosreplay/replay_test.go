//go:build retrylab_testdata

// Package chaosreplay runs RetryChaos against a client that retries a 400,
// so that some sequences fail; suites' own tests run it in a subprocess (with
// -tags retrylab_testdata) and check the replay line and RETRYLAB_CHAOS_SEED.
package chaosreplay

import (
	"net/http"
	"testing"

	_ "github.com/onsi/ginkgo/v2" // tells the ginkgo CLI this package is a Ginkgo suite

	"github.com/retrylab/retrylab/apitest"
	"github.com/retrylab/retrylab/retryclient"
	"github.com/retrylab/retrylab/suites"
)

func TestChaosReplay(t *testing.T) {
	apitest.RunSpecs(t, "chaos replay")
}

var _ = suites.RetryChaos("retries 400 (v2)", func() suites.Subject {
	p := retryclient.DefaultPolicy().WithRetryStatuses(append(retryclient.DefaultRetryStatuses(), 400)...)
	return suites.Subject{
		Client: func(base http.RoundTripper) *http.Client {
			return &http.Client{Transport: retryclient.New(base, p)}
		},
		Promise: suites.Promise{MaxAttempts: 3},
	}
}, suites.Sequences(30))
