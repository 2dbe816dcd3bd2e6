package protocol_test

import (
	"net/http"
	"testing"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/internal/protocol"
	"github.com/retrylab/retrylab/retryclient"
)

// The client stamps the header the server journals by default: both names
// come from protocol.AttemptHeader and are in canonical form.
func TestAttemptHeaderIsOneName(t *testing.T) {
	if retryclient.DefaultAttemptHeader != protocol.AttemptHeader || faultinject.AttemptHeader != protocol.AttemptHeader {
		t.Errorf("retryclient %q, faultinject %q, protocol %q", retryclient.DefaultAttemptHeader, faultinject.AttemptHeader, protocol.AttemptHeader)
	}
	if c := http.CanonicalHeaderKey(protocol.AttemptHeader); c != protocol.AttemptHeader {
		t.Errorf("%q is not canonical (%q)", protocol.AttemptHeader, c)
	}
}
