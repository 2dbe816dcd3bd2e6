package faultinject_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/retrylab/retrylab/faultinject"
)

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func do(t *testing.T, c *http.Client, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestListenAndAdmin(t *testing.T) {
	s := faultinject.NewScenario("first").Route("GET /items/{id}", faultinject.Status(503), faultinject.Status(200)).MustBuild()
	srv, err := faultinject.Listen("127.0.0.1:0", s, faultinject.WithAdmin(false))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := &http.Client{}
	if code, _ := get(t, c, srv.URL+"/items/1"); code != 503 {
		t.Fatalf("first request: %d", code)
	}

	// The journal, as JSON; admin requests are not journaled.
	code, body := get(t, c, srv.URL+"/__admin/journal")
	var j faultinject.AdminJournal
	if code != 200 || json.Unmarshal([]byte(body), &j) != nil {
		t.Fatalf("journal: %d %s", code, body)
	}
	if j.Scenario != "first" || len(j.Calls) != 1 || j.Calls[0].Status != 503 || j.Calls[0].Route != "GET /items/{id}" {
		t.Errorf("journal = %+v", j)
	}

	// Reset: the script starts over.
	if code, _ := do(t, c, "POST", srv.URL+"/__admin/reset", ""); code != 204 {
		t.Errorf("reset: %d", code)
	}
	if code, _ := get(t, c, srv.URL+"/items/1"); code != 503 {
		t.Errorf("after reset: %d, want the script's first step again", code)
	}

	// Load a new scenario as YAML.
	code, body = do(t, c, "PUT", srv.URL+"/__admin/scenario", "name: second\nroutes:\n  - route: GET /items/{id}\n    steps:\n      - respond: 418\n")
	if code != 200 || !strings.Contains(body, `"name": "second"`) {
		t.Fatalf("load: %d %s", code, body)
	}
	if code, _ := get(t, c, srv.URL+"/items/1"); code != 418 {
		t.Errorf("after load: %d", code)
	}
	if srv.Journal().Len() != 1 || srv.Scenario().Name != "second" {
		t.Errorf("after load: journal %d calls, scenario %q", srv.Journal().Len(), srv.Scenario().Name)
	}

	// An invalid upload names the place and changes nothing.
	code, body = do(t, c, "PUT", srv.URL+"/__admin/scenario", "name: bad\nroutes:\n  - route: GET /x\n    steps:\n      - fault: rest\n")
	if code != 400 || strings.TrimSpace(body) != `admin upload:5:16: unknown fault "rest" (did you mean "reset"?)` {
		t.Errorf("bad upload: %d %q", code, body)
	}
	if code, _ := get(t, c, srv.URL+"/items/1"); code != 418 {
		t.Errorf("after a bad upload: %d", code)
	}
	if code, body := get(t, c, srv.URL+"/__admin/nope"); code != 404 || !strings.Contains(body, "journal, reset, scenario") {
		t.Errorf("unknown endpoint: %d %s", code, body)
	}
}

func TestAdminRefusesRemoteClients(t *testing.T) {
	s := faultinject.NewScenario("x").Route("GET /x", faultinject.Status(200)).MustBuild()
	srv, err := faultinject.Listen("127.0.0.1:0", s, faultinject.WithAdmin(false))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// Pretend the client is remote: the handler sees RemoteAddr, so a
	// recorder-level check is enough here.
	for addr, want := range map[string]int{
		"192.0.2.7:5555":       http.StatusForbidden,
		"[fd00::2]:5555":       http.StatusForbidden,
		"[fe80::1%eth0]:5555":  http.StatusForbidden, // regression: a zoned address did not parse and was let in
		"garbage":              http.StatusForbidden,
		"127.0.0.1:5555":       http.StatusOK,
		"[::1]:5555":           http.StatusOK,
		"[::ffff:127.0.0.1]:5": http.StatusOK,
	} {
		req, _ := http.NewRequest("GET", "/__admin/journal", nil)
		req.RemoteAddr = addr
		rec := &recorder{header: http.Header{}}
		srv.ServeAdminForTest(rec, req)
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		if rec.code != want {
			t.Errorf("client %s: %d, want %d", addr, rec.code, want)
		}
	}
}

func TestAdminRefusesWebPagesAndFileReads(t *testing.T) {
	s := faultinject.NewScenario("x").Route("GET /x", faultinject.Status(200)).MustBuild()
	srv, err := faultinject.Listen("127.0.0.1:0", s, faultinject.WithAdmin(false))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := &http.Client{}
	// Regression: a cross-site "simple" POST from a browser replaced the scenario.
	req, _ := http.NewRequest("PUT", srv.URL+"/__admin/scenario", strings.NewReader("name: pwned\nroutes: [{route: GET /x, steps: [{respond: 418}]}]\n"))
	req.Header.Set("Origin", "http://evil.example")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || srv.Scenario().Name != "x" {
		t.Errorf("upload with Origin: %d, scenario now %q", resp.StatusCode, srv.Scenario().Name)
	}
	if code, _ := do(t, c, "POST", srv.URL+"/__admin/scenario", "name: y\nroutes: [{route: GET /x, steps: [{respond: 418}]}]\n"); code != http.StatusMethodNotAllowed {
		t.Errorf("POST upload: %d, want 405", code)
	}
	// Regression: body-file in an upload read the server's files.
	code, body := do(t, c, "PUT", srv.URL+"/__admin/scenario", "name: leak\nroutes:\n  - route: GET /leak\n    steps:\n      - respond: 200\n        body-file: /etc/passwd\n")
	if code != http.StatusBadRequest || !strings.Contains(body, "admin upload:6:9: body-file is not allowed here") {
		t.Errorf("body-file upload: %d %q", code, body)
	}
}

type recorder struct {
	header http.Header
	code   int
	body   strings.Builder
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(code int)        { r.code = code }

func TestListenErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := faultinject.NewScenario("x").Route("GET /x", faultinject.Status(200)).MustBuild()
	if _, err := faultinject.Listen(ln.Addr().String(), s); err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.HasPrefix(err.Error(), "faultinject: ") {
		t.Errorf("busy port: %v", err)
	}
	bad := &faultinject.Scenario{Name: "bad", Routes: []faultinject.Route{{Pattern: "GET /x"}}}
	if _, err := faultinject.Listen("127.0.0.1:0", bad); err == nil {
		t.Error("invalid scenario accepted")
	}
}
