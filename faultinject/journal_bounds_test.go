package faultinject

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/jarcoal/httpmock"
)

// TestJournalRedactsCredentials: regression, the journal kept
// Authorization and Cookie verbatim and served them from /__admin/journal.
func TestJournalRedactsCredentials(t *testing.T) {
	s := mustBuild(t, NewScenario("secrets").Route("GET /x", Status(200)))
	send := func(t *testing.T, c *http.Client, url string) {
		req, _ := http.NewRequest("GET", url+"/x", nil)
		req.Header.Set("Authorization", "Bearer s3cret")
		req.Header.Set("Proxy-Authorization", "Basic cHJveHk6cHc=")
		req.Header.Add("Cookie", "session=abc")
		req.Header.Add("Cookie", "csrf=def")
		// A non-canonical name, which httpmock passes on as is, is redacted too.
		req.Header[strings.ToLower("Set-Cookie")] = []string{"odd=1"}
		req.Header.Set("X-Trace", "t-1")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		send(t, fe.client, fe.url)
		h := lastCall(t, fe.journal).Header
		found := map[string]int{}
		for k, vs := range h {
			if isSecret(k) {
				found[http.CanonicalHeaderKey(k)] += len(vs)
				for _, v := range vs {
					if v != Redacted {
						t.Errorf("%s journaled as %q, want %q", k, v, Redacted)
					}
				}
			}
		}
		if len(found) != 4 || found["Cookie"] != 2 {
			t.Errorf("secret headers journaled: %v", found)
		}
		if h.Get("X-Trace") != "t-1" {
			t.Errorf("X-Trace = %q", h.Get("X-Trace"))
		}
	}, "tcp", "httpmock")

	synctest.Test(t, func(t *testing.T) {
		srv := NewPipeServer(s, WithSecrets())
		defer srv.Close()
		send(t, srv.Client(), srv.URL)
		h := lastCall(t, srv.Journal()).Header
		if h.Get("Authorization") != "Bearer s3cret" || strings.Join(h.Values("Cookie"), "; ") != "session=abc; csrf=def" {
			t.Errorf("WithSecrets: %v", h)
		}
		mt := httpmock.NewMockTransport()
		j := Register(mt, s, WithSecrets())
		send(t, &http.Client{Transport: mt}, "http://api.test")
		if got := lastCall(t, j).Header.Get("Authorization"); got != "Bearer s3cret" {
			t.Errorf("Register WithSecrets: Authorization %q", got)
		}
	})
}

// TestJournalBoundsRequests: regression, headers of ~1 MB were journaled
// whole (and served whole by the admin API).
func TestJournalBoundsRequests(t *testing.T) {
	e := newEngine(mustBuild(t, NewScenario("big").Route("GET /{p...}", Status(200))), AttemptHeader)
	req := httptest.NewRequest("GET", "/"+strings.Repeat("p", 5000), nil)
	req.Header.Set("Idempotency-Key", strings.Repeat("k", 3000))
	req.Header.Set("X-Long", strings.Repeat("é", 2000)) // cut at a rune boundary
	for i := range 40 {
		req.Header.Set(fmt.Sprintf("X-Many-%02d", i), strings.Repeat("v", 900))
	}
	e.dispatch(req, meta{bodySum: emptySHA256})
	small := httptest.NewRequest("GET", "/ok", nil)
	small.Header.Set("X-Small", "yes")
	e.dispatch(small, meta{bodySum: emptySHA256})
	calls := e.journal.Calls()
	c := calls[0]
	if !c.Truncated || len(c.Path) != MaxJournalValue+len("…") || len(c.IdempotencyKey) != MaxJournalValue+len("…") {
		t.Errorf("truncated %v, path %d bytes, key %d bytes", c.Truncated, len(c.Path), len(c.IdempotencyKey))
	}
	if v := c.Header.Get("X-Long"); !strings.HasSuffix(v, "é…") || len(v) > MaxJournalValue+len("…") {
		t.Errorf("X-Long journaled as %d bytes ending %q", len(v), v[max(0, len(v)-8):])
	}
	size := 0
	for k, vs := range c.Header {
		for _, v := range vs {
			size += len(k) + len(v) + 3
		}
	}
	if size > MaxJournalHeader || c.Header.Get("X-Many-00") == "" {
		t.Errorf("header kept: %d bytes (limit %d), X-Many-00 %q", size, MaxJournalHeader, c.Header.Get("X-Many-00"))
	}
	if calls[1].Truncated || calls[1].Header.Get("X-Small") != "yes" || calls[1].Path != "/ok" {
		t.Errorf("small call: %+v", calls[1])
	}
}

// TestJournalLimitDropsOldest: with a limit, the journal keeps the most
// recent calls, counts the dropped ones and keeps numbering and counting
// across the drop.
func TestJournalLimitDropsOldest(t *testing.T) {
	e := newConfiguredEngine(mustBuild(t, NewScenario("ring").Route("GET /a", Status(200)).Route("GET /b", Status(200))),
		config{attemptHeader: AttemptHeader, journalLimit: 100})
	for i := range 1000 {
		e.dispatch(httptest.NewRequest("GET", []string{"/a", "/b"}[i%2], nil), meta{bodySum: emptySHA256})
	}
	j := e.journal
	calls := j.Calls()
	if j.Len() != 100 || j.Dropped() != 900 || len(calls) != 100 || calls[0].Seq != 901 || calls[99].Seq != 1000 {
		t.Fatalf("len %d, dropped %d, calls #%d…#%d", j.Len(), j.Dropped(), calls[0].Seq, calls[len(calls)-1].Seq)
	}
	for i, c := range calls {
		if c.Seq != 901+i {
			t.Fatalf("call %d has Seq %d", i, c.Seq)
		}
	}
	if j.Count("GET /a") != 500 || calls[99].Index != 500 || len(j.Gaps("GET /b")) != 49 {
		t.Errorf("count %d, last index %d, %d gaps", j.Count("GET /a"), calls[99].Index, len(j.Gaps("GET /b")))
	}
	if page := j.CallsAfter(950, 10); len(page) != 10 || page[0].Seq != 951 {
		t.Errorf("CallsAfter(950, 10) = %d calls from #%d", len(page), page[0].Seq)
	}
	if page := j.CallsAfter(5, 1); len(page) != 1 || page[0].Seq != 901 {
		t.Errorf("CallsAfter(5, 1), before the oldest held: %+v", page)
	}
	if page := j.CallsAfter(1000, 0); len(page) != 0 {
		t.Errorf("CallsAfter(1000, 0) = %d calls", len(page))
	}
	if !strings.HasPrefix(j.GomegaString(), `journal of "ring": 100 calls (900 older calls dropped)`) {
		t.Errorf("timeline head: %.80s", j.GomegaString())
	}
	e.reset()
	if j.Len() != 0 || j.Dropped() != 0 {
		t.Errorf("after reset: len %d, dropped %d", j.Len(), j.Dropped())
	}
	e.dispatch(httptest.NewRequest("GET", "/a", nil), meta{bodySum: emptySHA256})
	if c := j.Calls(); len(c) != 1 || c[0].Seq != 1 {
		t.Errorf("after reset: %+v", c)
	}
}

// TestJournalLimitBoundsMemory: regression, a long-running server's journal
// grew the live heap by about 409 B per call without end.
func TestJournalLimitBoundsMemory(t *testing.T) {
	e := newConfiguredEngine(mustBuild(t, NewScenario("soak").Route("GET /x", Status(200))),
		config{attemptHeader: AttemptHeader, journalLimit: 1000})
	req := httptest.NewRequest("GET", "/x", nil)
	req.Header.Set("User-Agent", "soak/1.0")
	req.Header.Set("X-Request-Id", strings.Repeat("r", 200))
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for range 2000 {
		e.dispatch(req, meta{bodySum: emptySHA256}).call.end()
	}
	before := heap()
	const n = 100_000 // unbounded, these held about 60 MB
	for range n {
		e.dispatch(req, meta{bodySum: emptySHA256}).call.end()
	}
	after := heap()
	runtime.KeepAlive(e)
	if grown := int64(after) - int64(before); grown > 4<<20 {
		t.Errorf("the live heap grew by %d bytes over %d calls with a limit of 1000", grown, n)
	}
	if e.journal.Len() != 1000 || e.journal.Dropped() != n+1000 {
		t.Errorf("len %d, dropped %d", e.journal.Len(), e.journal.Dropped())
	}
}
