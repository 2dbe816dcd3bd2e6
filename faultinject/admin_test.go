package faultinject_test

import (
	"encoding/json"
	"fmt"
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
		req.RemoteAddr, req.Host = addr, "127.0.0.1"
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

// TestAdminRefusesForeignHosts: regression, `curl -H 'Host: evil.example'
// .../__admin/journal` answered 200, so a DNS-rebinding page could read the
// journal.
func TestAdminRefusesForeignHosts(t *testing.T) {
	s := faultinject.NewScenario("x").Route("GET /x", faultinject.Status(200)).MustBuild()
	srv, err := faultinject.Listen("127.0.0.1:0", s, faultinject.WithAdmin(false))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	own := strings.TrimPrefix(srv.URL, "http://")
	for host, want := range map[string]int{
		"evil.example":              http.StatusForbidden,
		"evil.example:" + port(own): http.StatusForbidden,
		"127.0.0.1.nip.io":          http.StatusForbidden,
		"localhost.evil.example":    http.StatusForbidden,
		"[fe80::1%25eth0]:80":       http.StatusForbidden,
		"0.0.0.0":                   http.StatusForbidden,
		own:                         http.StatusOK,
		"localhost":                 http.StatusOK,
		"LOCALHOST:9":               http.StatusOK,
		"localhost.:9":              http.StatusOK,
		"127.0.0.1":                 http.StatusOK,
		"127.1.2.3:80":              http.StatusOK,
		"[::1]":                     http.StatusOK,
		"[::1]:" + port(own):        http.StatusOK,
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/__admin/journal", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %q: %d %s, want %d", host, resp.StatusCode, b, want)
		}
		if want == http.StatusForbidden && !strings.Contains(string(b), "faultinject: the admin API answers requests to a loopback host") {
			t.Errorf("Host %q: message %q", host, b)
		}
	}
	// Non-admin paths answer any Host, as the scenario says.
	req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
	req.Host = "api.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("scenario route with a foreign Host: %d", resp.StatusCode)
	}

	// Remote admin lets any Host in, as it lets any client in.
	remote, err := faultinject.Listen("127.0.0.1:0", s, faultinject.WithAdmin(true))
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	req, _ = http.NewRequest("GET", remote.URL+"/__admin/journal", nil)
	req.Host = "retrylab.internal.example"
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("remote admin, foreign Host: %d", resp.StatusCode)
	}
}

func port(hostport string) string {
	_, p, _ := net.SplitHostPort(hostport)
	return p
}

// TestAdminJournalPages: the journal endpoint pages with since and limit,
// reports dropped calls and streams (chunked, no Content-Length).
func TestAdminJournalPages(t *testing.T) {
	s := faultinject.NewScenario("pages").Route("GET /x", faultinject.Status(200)).MustBuild()
	srv, err := faultinject.Listen("127.0.0.1:0", s, faultinject.WithAdmin(false), faultinject.WithJournalLimit(600))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := srv.Client()
	for range 700 {
		get(t, c, srv.URL+"/x")
	}
	journal := func(query string) (faultinject.AdminJournal, *http.Response) {
		t.Helper()
		resp, err := c.Get(srv.URL + "/__admin/journal" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var j faultinject.AdminJournal
		if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
			t.Fatalf("journal%s: %v", query, err)
		}
		return j, resp
	}
	all, resp := journal("")
	if resp.ContentLength != -1 || len(resp.TransferEncoding) == 0 {
		t.Errorf("journal not streamed: Content-Length %d, Transfer-Encoding %v", resp.ContentLength, resp.TransferEncoding)
	}
	if all.Dropped != 100 || len(all.Calls) != 600 || all.Calls[0].Seq != 101 || all.Next != 700 || all.More {
		t.Fatalf("whole journal: dropped %d, %d calls from #%d, next %d, more %v", all.Dropped, len(all.Calls), all.Calls[0].Seq, all.Next, all.More)
	}
	var seqs []int
	for since, pages := 0, 0; ; pages++ {
		p, _ := journal(fmt.Sprintf("?since=%d&limit=250", since))
		for _, c := range p.Calls {
			seqs = append(seqs, c.Seq)
		}
		since = p.Next
		if !p.More {
			if pages != 2 {
				t.Errorf("%d pages, want 3", pages+1)
			}
			break
		}
	}
	if len(seqs) != 600 || seqs[0] != 101 || seqs[599] != 700 {
		t.Errorf("paged: %d calls, #%d…#%d", len(seqs), seqs[0], seqs[len(seqs)-1])
	}
	if p, _ := journal("?since=700"); len(p.Calls) != 0 || p.Next != 700 || p.More {
		t.Errorf("past the end: %+v", p)
	}
	for _, q := range []string{"?since=-1", "?limit=x"} {
		code, body := get(t, c, srv.URL+"/__admin/journal"+q)
		if code != http.StatusBadRequest || !strings.HasPrefix(body, "faultinject: journal: ") {
			t.Errorf("%s: %d %q", q, code, body)
		}
	}
}

// TestAdminJournalBoundsHeaders: regression, one GET /__admin/journal after
// 200 calls with ~1 MB headers returned 212 MB of JSON.
func TestAdminJournalBoundsHeaders(t *testing.T) {
	s := faultinject.NewScenario("big").Route("GET /x", faultinject.Status(200)).MustBuild()
	srv, err := faultinject.Listen("127.0.0.1:0", s, faultinject.WithAdmin(false))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := srv.Client()
	const calls = 20
	for range calls {
		req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
		for i := range 16 {
			req.Header.Set(fmt.Sprintf("X-Big-%02d", i), strings.Repeat("v", 50_000))
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	_, body := get(t, c, srv.URL+"/__admin/journal")
	if limit := calls * 2 * faultinject.MaxJournalHeader; len(body) > limit {
		t.Errorf("journal of %d calls with 800 kB of header each: %d bytes of JSON, want at most %d", calls, len(body), limit)
	}
	var j faultinject.AdminJournal
	if err := json.Unmarshal([]byte(body), &j); err != nil || len(j.Calls) != calls || !j.Calls[0].Truncated {
		t.Fatalf("journal: %v, %+v", err, j.Calls[:1])
	}
}
