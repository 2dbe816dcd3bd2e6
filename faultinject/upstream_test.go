package faultinject_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	fi "github.com/retrylab/retrylab/faultinject"
)

// realService is a stand-in for a staging service on 127.0.0.1: it echoes
// what it received.
func realService(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen-Path", r.URL.RequestURI())
		w.Header().Set("X-Seen-Forwarded-For", r.Header.Get("X-Forwarded-For"))
		w.Header().Set("X-Seen-Hop", r.Header.Get("X-Hop"))
		w.Header().Set("Retry-After", "0")
		w.Write([]byte("real:" + string(body)))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestProxyThenTheRealService(t *testing.T) {
	up := realService(t)
	yaml := "name: proxy\nupstream: " + up.URL + "\nroutes:\n  - route: POST /orders\n    steps:\n      - respond: 503\n        times: 2\n    after: upstream\n"
	s, err := fi.ParseScenario("proxy.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	srv := fi.NewServer(s)
	defer srv.Close()
	var got []string
	var last *http.Response
	for range 3 {
		req, _ := http.NewRequest("POST", srv.URL+"/orders?x=1", strings.NewReader(`{"n":1}`))
		req.Header.Set("Connection", "X-Hop")
		req.Header.Set("X-Hop", "must not be forwarded")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got = append(got, resp.Status[:3]+" "+string(b))
		last = resp
	}
	if got[0][:3] != "503" || got[1][:3] != "503" || got[2] != `200 real:{"n":1}` {
		t.Errorf("answers %q, want 503, 503, then the real service's echo", got)
	}
	if h := last.Header; h.Get("X-Seen-Path") != "/orders?x=1" || h.Get("X-Seen-Forwarded-For") == "" || h.Get("X-Seen-Hop") != "" {
		t.Errorf("the upstream saw path %q, X-Forwarded-For %q, X-Hop %q; want the path and query, a forwarded-for, no hop-by-hop header",
			h.Get("X-Seen-Path"), h.Get("X-Seen-Forwarded-For"), h.Get("X-Seen-Hop"))
	}
	calls := srv.Journal().Calls()
	if len(calls) != 3 || calls[2].Status != 200 || calls[2].Action != "upstream" || calls[2].RetryAfter != "0" {
		t.Errorf("journal:\n%s", srv.Journal())
	}
}

func TestProxyFaultOnTheRealResponse(t *testing.T) {
	up := realService(t)
	s := fi.NewScenario("cut").Route("GET /items", fi.ResetMidBody().Upstream()).MustBuild()
	srv := fi.NewServer(s, fi.WithUpstream(up.URL))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/items")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || resp.StatusCode != 200 || !bytes.HasPrefix([]byte("real:"), b) {
		t.Errorf("read %q, %v; want the upstream's 200 cut off mid-body", b, err)
	}
}

func TestProxyUpstreamFailures(t *testing.T) {
	// A port nobody listens on: refused, 502.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	// A service that never answers: 504 at the upstream timeout.
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hung.Close()
	for _, c := range []struct {
		upstream string
		want     int
		text     string
	}{
		{dead, 502, "faultinject: upstream failed:"},
		{hung.URL, 504, "faultinject: upstream did not answer in time:"},
	} {
		s := fi.NewScenario("p").Route("GET /x", fi.Status(200)).ThenUpstream().MustBuild()
		srv := fi.NewServer(s, fi.WithUpstream(c.upstream), fi.WithUpstreamTimeout(200*time.Millisecond))
		resp, err := srv.Client().Get(srv.URL + "/x") // the script's 200
		if err == nil {
			resp.Body.Close()
		}
		resp, err = srv.Client().Get(srv.URL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want || !strings.HasPrefix(string(b), c.text) || srv.Journal().Calls()[1].Status != c.want {
			t.Errorf("%s: %d %q; want %d %q, journaled", c.upstream, resp.StatusCode, b, c.want, c.text)
		}
		srv.Close()
	}
}

func TestProxyOnHTTPMock(t *testing.T) {
	up := realService(t)
	s := fi.NewScenario("p").Route("PUT /doc", fi.Status(503)).ThenUpstream().MustBuild()
	mt := httpmock.NewMockTransport()
	j := fi.Register(mt, s, fi.WithUpstream(up.URL))
	c := &http.Client{Transport: mt}
	var statuses []int
	for range 2 {
		req, _ := http.NewRequest("PUT", "http://docs.test/doc", strings.NewReader("v2"))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode == 200 && string(b) != "real:v2" {
			t.Errorf("body %q", b)
		}
	}
	if statuses[0] != 503 || statuses[1] != 200 || j.Calls()[1].Status != 200 {
		t.Errorf("statuses %v, journal %s", statuses, j)
	}
}

func TestProxyBadInput(t *testing.T) {
	for yaml, want := range map[string]string{
		"name: x\nupstream: ftp://files.example\nroutes:\n  - route: GET /a\n    after: upstream\n":       `x.yaml:2:11: upstream "ftp://files.example" must be an http or https URL`,
		"name: x\nroutes:\n  - route: GET /a\n    steps:\n      - upstream: true\n        respond: 200\n": "upstream takes the response from the upstream",
		"name: x\nroutes:\n  - route: GET /a\n    steps:\n      - upstream: true\n        fault: reset\n": `fault "reset" sends no response, so it cannot play on the upstream's`,
		"name: x\nroutes:\n  - route: GET /a\n    steps:\n      - upstream: true\n        fault: hang\n":  `fault "hang" with upstream needs for`,
		"name: x\nroutes:\n  - route: GET /a\n    steps:\n      - upstream: yes please\n":                 "upstream: want true or false",
	} {
		if _, err := fi.ParseScenario("x.yaml", []byte(yaml)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q:\n  got  %v\n  want %q", yaml, err, want)
		}
	}
	s := fi.NewScenario("p").Route("GET /x", fi.Status(200)).MustBuild()
	if _, err := fi.Listen("127.0.0.1:0", s, fi.WithUpstream("localhost:8080")); err == nil || !strings.Contains(err.Error(), "WithUpstream") {
		t.Errorf("Listen with a bad upstream: %v", err)
	}
	// A proxy step with no upstream anywhere: a 502 that says so.
	srv := fi.NewPipeServer(fi.NewScenario("p").Route("GET /x", fi.Status(503)).ThenUpstream().MustBuild())
	defer srv.Close()
	for range 2 {
		resp, err := srv.Client().Get(srv.URL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 502 && !strings.Contains(string(b), "no upstream is set") {
			t.Errorf("502 %q", b)
		}
	}
}

// A huge upstream body is streamed to the client, never held whole.
func TestProxyStreamsHugeBodies(t *testing.T) {
	const size = 64 << 20
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for range size >> 20 {
			w.Write(chunk)
		}
	}))
	defer up.Close()
	srv := fi.NewServer(fi.NewScenario("big").Route("GET /blob", fi.Proxy()).MustBuild(), fi.WithUpstream(up.URL))
	defer srv.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp, err := srv.Client().Get(srv.URL + "/blob")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	runtime.ReadMemStats(&after)
	if err != nil || n != size {
		t.Fatalf("relayed %d bytes, %v; want %d", n, err, size)
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 16<<20 {
		t.Errorf("the heap grew by %d MB relaying %d MB; want it streamed", grew>>20, size>>20)
	}
	if c := srv.Journal().Calls(); len(c) != 1 || c[0].Status != 200 || c[0].Action != "upstream" {
		t.Errorf("journal:\n%s", srv.Journal())
	}
}
