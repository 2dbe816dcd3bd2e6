package faultinject

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
)

func TestHasNoResponderSeesHttpmocksField(t *testing.T) {
	mt := httpmock.NewMockTransport()
	if hasNoResponder(mt) {
		t.Fatal("a fresh MockTransport has a no-responder")
	}
	mt.RegisterNoResponder(httpmock.NewStringResponder(418, "mine"))
	if !hasNoResponder(mt) {
		t.Fatal("hasNoResponder does not see httpmock's no-responder: has httpmock renamed the field?")
	}
}

// Regression: Register silently replaced a no-responder the user had set.
func TestRegisterRefusesToReplaceANoResponder(t *testing.T) {
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(httpmock.NewStringResponder(418, "mine"))
	defer func() {
		r := recover()
		if msg, _ := r.(string); !strings.HasPrefix(msg, "faultinject: Register: the MockTransport already has a no-responder") ||
			!strings.Contains(msg, "WithNoResponder") {
			t.Errorf("panic = %v, want the no-responder message naming WithNoResponder", r)
		}
	}()
	Register(mt, NewScenario("s").Route("GET /x", Status(200)).MustBuild())
}

func TestRegisterWithNoResponderKeepsTheUsers(t *testing.T) {
	mine := httpmock.NewStringResponder(418, "mine")
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(mine)
	j := Register(mt, NewScenario("s").Route("GET /users/{id}", Status(503), Status(200)).MustBuild(),
		WithNoResponder(mine))
	c := &http.Client{Transport: mt}
	for _, tc := range []struct {
		url, body string
		status    int
	}{
		{"http://api.example/users/1", "", 503},
		{"http://other.example/elsewhere", "mine", 418},
		{"http://api.example/users/1", "", 200},
	} {
		resp, err := c.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || (tc.body != "" && string(b) != tc.body) {
			t.Errorf("GET %s = %d %q, want %d %q", tc.url, resp.StatusCode, b, tc.status, tc.body)
		}
	}
	if j.Len() != 2 || j.Count("GET /users/{id}") != 2 {
		t.Errorf("journal = %s, want the two scenario calls only", j.GomegaString())
	}
}
