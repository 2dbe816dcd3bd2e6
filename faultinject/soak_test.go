package faultinject_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/internal/rules"
	"github.com/retrylab/retrylab/retryclient"
)

// soakRequests is how many logical requests run at once in a soak round.
const soakRequests = 1000

// soakDuration is how long the soak runs: one round by default (a few
// seconds, part of `make test`); RETRYLAB_SOAK=10m runs rounds for ten
// minutes, checking between rounds that nothing grows.
func soakDuration(t *testing.T) time.Duration {
	v := os.Getenv("RETRYLAB_SOAK")
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("RETRYLAB_SOAK=%q: %v", v, err)
	}
	return d
}

// TestSoak sends 1,000 concurrent logical requests (GETs, and keyed POSTs
// with a body) through one retryclient Transport to a TCP server whose
// chaos answers about a third of the calls with 503, 429, resets and empty
// replies, and accounts for every one: each client attempt appears in the
// journal under its attempt number, and the only other calls are
// net/http's silent replays of a reset or empty reply on a connection it
// had pooled (same attempt number again). After Close, no goroutine, file
// descriptor or heap growth remains.
func TestSoak(t *testing.T) {
	s := faultinject.NewScenario("soak").Seed(7).
		Route("GET /items/{id}", faultinject.Status(200).Body(`{"ok":true}`)).
		Route("POST /orders/{id}", faultinject.Status(201)).
		Chaos("", 0.15, faultinject.Status(503)).
		Chaos("", 0.05, faultinject.Status(429).RetryAfter(0)).
		Chaos("", 0.05, faultinject.Reset()).
		Chaos("", 0.05, faultinject.Empty()).
		Chaos("", 0.05, faultinject.Status(200).Delay(5*time.Millisecond)).
		MustBuild()

	goroutines := gleak.Goroutines()
	fds := fdCount()
	heap := liveHeap()
	deadline := time.Now().Add(soakDuration(t))
	for round := 1; ; round++ {
		soakRound(t, s)
		if t.Failed() {
			return
		}
		if nowFds := fdCount(); fds >= 0 && nowFds > fds+8 {
			// Closed sockets may take a moment to leave the table.
			waitFor(func() bool { return fdCount() <= fds+8 })
			if nowFds = fdCount(); nowFds > fds+8 {
				t.Errorf("round %d: %d open descriptors after Close, %d before", round, nowFds, fds)
			}
		}
		if grown := int64(liveHeap()) - int64(heap); grown > 16<<20 {
			t.Errorf("round %d: the live heap grew by %d MB", round, grown>>20)
		}
		if !time.Now().Before(deadline) {
			t.Logf("%d rounds of %d requests", round, soakRequests)
			break
		}
	}
	leaked := gleak.HaveLeaked(goroutines)
	waitFor(func() bool { ok, _ := leaked.Match(gleak.Goroutines()); return !ok })
	if ok, _ := leaked.Match(gleak.Goroutines()); ok {
		t.Error(leaked.FailureMessage(gleak.Goroutines()))
	}
}

func soakRound(t *testing.T, s *faultinject.Scenario) {
	srv := faultinject.NewServer(s)
	defer srv.Close()
	base := &http.Transport{MaxIdleConnsPerHost: 64}
	defer base.CloseIdleConnections()
	var mu sync.Mutex
	attempts := map[string][]retryclient.Attempt{} // by path
	policy := retryclient.DefaultPolicy().
		WithMaxAttempts(6).
		WithBackoff(retryclient.ConstantBackoff(time.Millisecond)).
		WithAttemptTimeout(20 * time.Second)
	client := &http.Client{Transport: retryclient.New(base, policy,
		retryclient.WithAttemptHeader(faultinject.AttemptHeader),
		retryclient.WithIdempotencyKeys(),
		retryclient.WithObserver(func(a retryclient.Attempt) {
			u, _ := url.Parse(a.URL)
			path := u.Path
			mu.Lock()
			attempts[path] = append(attempts[path], a)
			mu.Unlock()
		}))}

	outcomes := make([]string, soakRequests)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range soakRequests {
		wg.Go(func() {
			<-start
			var req *http.Request
			if i%4 == 0 {
				req, _ = http.NewRequest("POST", fmt.Sprintf("%s/orders/%d", srv.URL, i), bytes.NewReader(bytes.Repeat([]byte{byte(i)}, 512)))
			} else {
				req, _ = http.NewRequest("GET", fmt.Sprintf("%s/items/%d", srv.URL, i), nil)
			}
			resp, err := client.Do(req)
			if err != nil {
				outcomes[i] = "error: " + err.Error()
				return
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			outcomes[i] = strconv.Itoa(resp.StatusCode)
			if err != nil {
				outcomes[i] += " body error: " + err.Error()
			}
		})
	}
	close(start)
	wg.Wait()
	srv.Close()
	base.CloseIdleConnections()

	byPath := map[string][]faultinject.Call{}
	for _, c := range srv.Journal().Calls() {
		if c.Method == "" {
			t.Fatalf("a dial was refused: %+v", c)
		}
		byPath[c.Path] = append(byPath[c.Path], c)
	}
	clientAttempts, replays, ended := 0, 0, map[string]int{}
	for i := range soakRequests {
		path := fmt.Sprintf("/items/%d", i)
		if i%4 == 0 {
			path = fmt.Sprintf("/orders/%d", i)
		}
		atts, calls := attempts[path], byPath[path]
		clientAttempts += len(atts)
		ended[strings.SplitN(outcomes[i], " ", 2)[0]]++
		if len(atts) == 0 {
			t.Fatalf("%s: no attempt observed; outcome %s", path, outcomes[i])
		}
		// Every client attempt reached the server, in order; a repeated
		// attempt number is a transport replay of a reset or empty reply.
		// (The client may count a connection as reused that served no
		// request: one dialed for a request that got an idle one first.)
		n := 0
		for k, c := range calls {
			switch {
			case c.Attempt == n+1:
				n++
			case k > 0 && c.Attempt == n && (calls[k-1].Action == "reset" || calls[k-1].Action == "empty"):
				replays++
			default:
				t.Fatalf("%s: call #%d has attempt %d after attempt %d; client made %d attempts (%s)\njournal:\n%s",
					path, c.Seq, c.Attempt, n, len(atts), outcomes[i], faultinject.FormatCalls(calls))
			}
		}
		if n != len(atts) {
			t.Fatalf("%s: the journal holds attempts 1…%d, the client made %d (%s)\njournal:\n%s",
				path, n, len(atts), outcomes[i], faultinject.FormatCalls(calls))
		}
		if err := rules.SameBody(calls); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if i%4 == 0 {
			if err := rules.SameIdempotencyKey(calls); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
	}
	if got := srv.Journal().Len(); got != clientAttempts+replays {
		t.Errorf("journal holds %d calls, want %d client attempts + %d transport replays", got, clientAttempts, replays)
	}
	if ended["200"]+ended["201"] < soakRequests*9/10 {
		t.Errorf("outcomes %v: too few successes for the chaos rates", ended)
	}
	t.Logf("%d requests, %d attempts, %d replays, outcomes %v", soakRequests, clientAttempts, replays, ended)
}

// liveHeap returns the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// fdCount returns the number of open descriptors of the process (Linux), or
// -1 where /proc/self/fd is not available.
func fdCount() int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(fds)
}

// waitFor polls cond for up to ten seconds.
func waitFor(cond func() bool) {
	g := gomega.NewGomega(func(string, ...int) {}) // the caller checks again and reports
	g.Eventually(cond).WithTimeout(10 * time.Second).Should(gomega.BeTrue())
}
