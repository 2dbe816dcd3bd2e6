package retryclient_test

import (
	"net/http"
	"testing"
	"testing/synctest"

	"github.com/jarcoal/httpmock"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

// Regression: New(nil, …) captured http.DefaultTransport when it was
// called, so a client built before httpmock.Activate sent its requests to
// the network instead of the mock.
func TestNewNilReachesAMockActivatedLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := retryclient.NewClient(retryclient.DefaultPolicy()) // before Activate
		httpmock.Activate()
		defer httpmock.DeactivateAndReset()
		mt := http.DefaultTransport.(*httpmock.MockTransport)
		journal := faultinject.Register(mt, faultinject.NewScenario("later").
			Route("GET /users/{id}", faultinject.Status(503), faultinject.Status(200)).MustBuild())
		resp, err := c.Get("http://api.example/users/1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || journal.Count("GET /users/{id}") != 2 {
			t.Errorf("status %d after %d calls, want 200 after a retried 503:\n%s", resp.StatusCode, journal.Len(), journal.GomegaString())
		}
	})
}
