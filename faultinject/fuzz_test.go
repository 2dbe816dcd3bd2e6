package faultinject

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// FuzzAdminUpload sends arbitrary bytes to PUT /__admin/scenario: the
// answer is the new scenario (200), a one-line error naming the upload and
// the place (400), or 413 for an oversized body; never a panic.
func FuzzAdminUpload(f *testing.F) {
	f.Add([]byte("name: up\nroutes:\n  - route: GET /x\n    steps:\n      - respond: 503\n        times: 2\n      - respond: 200\n"))
	f.Add([]byte("routes:\n  - route: GET /x\n    steps:\n      - respond: 200\n        body-file: /etc/passwd\n"))
	f.Add([]byte("routes: [{route: GET /x, steps: [{respond: 200}]}]\n"))
	f.Add([]byte(strings.Repeat("[", 2048)))
	f.Add([]byte(strings.Repeat("{a: ", 2048)))
	srv := NewPipeServer(NewScenario("start").Route("GET /x", Status(200)).MustBuild(), WithAdmin(false))
	f.Cleanup(srv.Close)
	f.Fuzz(func(t *testing.T, data []byte) {
		w := httptest.NewRecorder()
		srv.serveAdmin(w, httptest.NewRequest(http.MethodPut, PipeURL+"/__admin/scenario", strings.NewReader(string(data))))
		body := strings.TrimSuffix(w.Body.String(), "\n")
		switch w.Code {
		case http.StatusOK:
		case http.StatusBadRequest:
			if !strings.HasPrefix(body, "admin upload:") || strings.Contains(body, "\n") {
				t.Fatalf("400 body %q: want one line starting with admin upload:", body)
			}
		case http.StatusRequestEntityTooLarge:
			if len(data) <= maxScenarioUpload {
				t.Fatalf("413 for %d bytes", len(data))
			}
		default:
			t.Fatalf("status %d %q", w.Code, body)
		}
	})
}

// FuzzPackHeader checks that the journal's compact header form gives back
// every header a server can receive (valid names and values), when secrets
// are kept and nothing had to be cut to the journal's bounds.
func FuzzPackHeader(f *testing.F) {
	f.Add("Idempotency-Key", "k1", "X-A", "a: b")
	f.Add("Authorization", "Bearer x", "Authorization", "")
	f.Add("X", strings.Repeat("v", 1024), "Y", " \t ")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		h := http.Header{}
		for _, kv := range [][2]string{{k1, v1}, {k2, v2}} {
			if !httpguts.ValidHeaderFieldName(kv[0]) || !httpguts.ValidHeaderFieldValue(kv[1]) {
				return
			}
			h[kv[0]] = append(h[kv[0]], kv[1])
		}
		packed, cut := packHeader(h, true)
		if cut {
			return
		}
		if got := unpackHeader(packed); !reflect.DeepEqual(got, h) {
			t.Fatalf("unpackHeader(packHeader(%q)) = %q", h, got)
		}
	})
}
