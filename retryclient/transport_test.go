package retryclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	fi "github.com/retrylab/retrylab/faultinject"
)

// noJitter is DefaultPolicy with exact exponential delays: 100ms, 200ms, …
func noJitter() Policy {
	return DefaultPolicy().WithBackoff(DefaultBackoff().WithJitter(JitterNone))
}

// get sends a GET through rt and returns the response (body read and
// closed) or the error, with the virtual time it took.
func get(t *testing.T, rt http.RoundTripper, url string) (*http.Response, string, time.Duration, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return send(t, rt, req)
}

func send(t *testing.T, rt http.RoundTripper, req *http.Request) (*http.Response, string, time.Duration, error) {
	t.Helper()
	start := time.Now()
	resp, err := rt.RoundTrip(req)
	took := time.Since(start)
	if err != nil {
		if resp != nil {
			t.Errorf("RoundTrip returned both a response and error %v", err)
		}
		return nil, "", took, err
	}
	b, rerr := io.ReadAll(resp.Body)
	if rerr != nil {
		t.Errorf("reading final body: %v", rerr)
	}
	resp.Body.Close()
	return resp, string(b), took, nil
}

func wantGaps(t *testing.T, calls []fi.Call, want ...time.Duration) {
	t.Helper()
	got := gaps(calls)
	if len(want) == 0 {
		want = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("server saw gaps %v, want %v", got, want)
	}
}

func wantReasons(t *testing.T, tl Timeline, want ...Reason) {
	t.Helper()
	var got []Reason
	for _, a := range tl {
		got = append(got, a.Reason)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reasons %v, want %v\n%s", got, want, tl)
	}
}

func TestTransportRetriesTransientStatusesWithExactGaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(503), status(503), status(200))
		s := srv.Journal()
		var c collector
		rt := New(srv.Transport(), noJitter(), WithObserver(c.observe))
		resp, body, took, err := get(t, rt, srv.URL+"/users")
		if err != nil || resp.StatusCode != 200 || body != "OK" {
			t.Fatalf("got %v %q %v, want 200 OK", resp, body, err)
		}
		if n := len(s.Calls()); n != 3 {
			t.Fatalf("server saw %d calls, want 3", n)
		}
		wantGaps(t, s.Calls(), 100*time.Millisecond, 200*time.Millisecond)
		if took != 300*time.Millisecond {
			t.Errorf("RoundTrip took %v, want 300ms", took)
		}
		tl := c.Timeline()
		wantReasons(t, tl, ReasonRetryableStatus, ReasonRetryableStatus, ReasonSuccess)
		if tl[0].Delay != 100*time.Millisecond || tl[1].Delay != 200*time.Millisecond || tl[2].Retry {
			t.Errorf("scheduled delays wrong:\n%s", tl)
		}
		want := "#1 +0s GET /users → 503 · retry in 100ms (retryable-status)\n" +
			"#2 +100ms GET /users → 503 · retry in 200ms (retryable-status)\n" +
			"#3 +300ms GET /users → 200 · done (success)"
		if got := tl.String(); got != want {
			t.Errorf("timeline:\n%s\nwant:\n%s", got, want)
		}
		if tl[0].RequestID != 1 || tl[2].RequestID != 1 {
			t.Errorf("request IDs %d..%d, want 1", tl[0].RequestID, tl[2].RequestID)
		}
	})
}

func TestTransportSeededJitterGivesTheScheduleBackoffComputes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(503), status(502), status(504), status(200))
		s := srv.Journal()
		p := DefaultPolicy().WithMaxAttempts(4)
		rt := New(srv.Transport(), p, WithRand(rand.NewPCG(7, 7)))
		resp, _, _, err := get(t, rt, srv.URL+"/")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("got %v %v", resp, err)
		}
		r := rand.New(rand.NewPCG(7, 7))
		var want []time.Duration
		for n := 1; n <= 3; n++ {
			want = append(want, p.Backoff.Delay(n, 0, r))
		}
		wantGaps(t, s.Calls(), want...)
	})
}

func TestTransportDoesNotRetryClientErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(400), status(200))
		s := srv.Journal()
		var c collector
		rt := New(srv.Transport(), noJitter(), WithObserver(c.observe))
		resp, body, took, err := get(t, rt, srv.URL+"/")
		if err != nil || resp.StatusCode != 400 || body != "Bad Request" {
			t.Fatalf("got %v %q %v, want the 400 as is", resp, body, err)
		}
		if len(s.Calls()) != 1 || took != 0 {
			t.Errorf("%d calls in %v, want 1 at once", len(s.Calls()), took)
		}
		wantReasons(t, c.Timeline(), ReasonNotRetryableStatus)
	})
}

func TestTransportDoesNotRetryPostWithoutIdempotencyKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(503), status(200))
		s := srv.Journal()
		var c collector
		rt := New(srv.Transport(), noJitter(), WithObserver(c.observe))
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/orders", strings.NewReader(`{"n":1}`))
		resp, _, _, err := send(t, rt, req)
		if err != nil || resp.StatusCode != 503 {
			t.Fatalf("got %v %v, want the 503", resp, err)
		}
		if len(s.Calls()) != 1 {
			t.Errorf("server saw %d calls, want 1", len(s.Calls()))
		}
		wantReasons(t, c.Timeline(), ReasonNotIdempotent)
	})
}

func TestTransportRetriesPostWithIdempotencyKeySendingSameKeyAndBody(t *testing.T) {
	payload := bytes.Repeat([]byte("order-7;"), 1000)
	cases := []struct {
		name string
		body func() io.Reader // an io.Reader http.NewRequest cannot rewind → buffered
		key  string
		opts []Option
	}{
		{"generated key, buffered body", func() io.Reader { return io.MultiReader(bytes.NewReader(payload)) }, "", []Option{WithIdempotencyKeys()}},
		{"caller key, GetBody", func() io.Reader { return bytes.NewReader(payload) }, "caller-key-1", nil},
		{"caller key kept despite WithIdempotencyKeys", func() io.Reader { return bytes.NewReader(payload) }, "caller-key-2", []Option{WithIdempotencyKeys()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := serveSteps(t, status(503), status(500), status(201))
				s := srv.Journal()
				rt := New(srv.Transport(), noJitter(), tc.opts...)
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/orders", tc.body())
				if tc.key != "" {
					req.Header.Set(IdempotencyKeyHeader, tc.key)
				}
				resp, _, _, err := send(t, rt, req)
				if err != nil || resp.StatusCode != 201 {
					t.Fatalf("got %v %v, want 201", resp, err)
				}
				calls := s.Calls()
				if len(calls) != 3 {
					t.Fatalf("server saw %d calls, want 3", len(calls))
				}
				sum := sha256.Sum256(payload)
				for i, c := range calls {
					if c.BodySHA256 != hex.EncodeToString(sum[:]) || c.BodyLen != int64(len(payload)) {
						t.Errorf("call %d: body of %d bytes differs from the %d sent", i+1, c.BodyLen, len(payload))
					}
					if c.IdempotencyKey == "" || c.IdempotencyKey != calls[0].IdempotencyKey {
						t.Errorf("call %d: Idempotency-Key %q, want %q on every call", i+1, c.IdempotencyKey, calls[0].IdempotencyKey)
					}
				}
				if tc.key != "" && calls[0].IdempotencyKey != tc.key {
					t.Errorf("key %q, want the caller's %q", calls[0].IdempotencyKey, tc.key)
				}
				if tc.key == "" && req.Header.Get(IdempotencyKeyHeader) != "" {
					t.Errorf("generated key leaked into the caller's request")
				}
			})
		})
	}
}

func TestTransportGeneratesOneKeyPerLogicalRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(503), status(200), status(503), status(200))
		s := srv.Journal()
		rt := New(srv.Transport(), noJitter(), WithIdempotencyKeys())
		for range 2 {
			req, _ := http.NewRequest(http.MethodPatch, srv.URL+"/x", strings.NewReader("a"))
			if _, _, _, err := send(t, rt, req); err != nil {
				t.Fatal(err)
			}
		}
		c := s.Calls()
		if c[0].IdempotencyKey != c[1].IdempotencyKey || c[2].IdempotencyKey != c[3].IdempotencyKey || c[0].IdempotencyKey == c[2].IdempotencyKey {
			t.Errorf("keys %q %q %q %q: want one fresh key per logical request", c[0].IdempotencyKey, c[1].IdempotencyKey, c[2].IdempotencyKey, c[3].IdempotencyKey)
		}
	})
}

func TestTransportHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(429).Header("Retry-After", "2"), status(200))
		s := srv.Journal()
		var c collector
		rt := New(srv.Transport(), noJitter(), WithObserver(c.observe))
		resp, _, took, err := get(t, rt, srv.URL+"/")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("got %v %v", resp, err)
		}
		wantGaps(t, s.Calls(), 2*time.Second)
		if took != 2*time.Second {
			t.Errorf("took %v, want 2s", took)
		}
		a := c.Timeline()[0]
		if !a.RetryAfterSeen || a.RetryAfter != 2*time.Second || a.RetryAfterRaw != "2" || a.Delay != 2*time.Second {
			t.Errorf("attempt 1 = %+v, want Retry-After 2s seen and used", a)
		}
	})
}

func TestTransportHonoursRetryAfterDate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(503).RetryAfterDate(5*time.Second), status(200))
		s := srv.Journal()
		rt := New(srv.Transport(), noJitter())
		if _, _, _, err := get(t, rt, srv.URL+"/"); err != nil {
			t.Fatal(err)
		}
		wantGaps(t, s.Calls(), 5*time.Second)
	})
}

func TestTransportGivesUpAtOnceOnRetryAfterAboveCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(429).Header("Retry-After", "3600"), status(200))
		s := srv.Journal()
		var c collector
		rt := New(srv.Transport(), noJitter().WithRetryAfter(true, 60*time.Second), WithObserver(c.observe))
		resp, body, took, err := get(t, rt, srv.URL+"/")
		if err != nil || resp.StatusCode != 429 || body != "Too Many Requests" {
			t.Fatalf("got %v %q %v, want the 429 with its body", resp, body, err)
		}
		if took != 0 || len(s.Calls()) != 1 {
			t.Errorf("took %v with %d calls, want 0s and 1 call", took, len(s.Calls()))
		}
		wantReasons(t, c.Timeline(), ReasonRetryAfterTooLong)
		if got := resp.Header.Get("Retry-After"); got != "3600" {
			t.Errorf("Retry-After header %q not preserved", got)
		}
	})
}

func TestTransportRetriesAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, fi.Hang(), status(200))
		var c collector
		p := noJitter().WithAttemptTimeout(time.Second)
		rt := New(srv.Transport(), p, WithObserver(c.observe))
		resp, body, took, err := get(t, rt, srv.URL+"/")
		if err != nil || resp.StatusCode != 200 || body != "OK" {
			t.Fatalf("got %v %q %v, want 200 OK (the body must stay readable after the attempt)", resp, body, err)
		}
		tl := c.Timeline()
		wantReasons(t, tl, ReasonAttemptTimeout, ReasonSuccess)
		if tl[0].ErrClass != ClassTimeout || !errors.Is(tl[0].Err, context.DeadlineExceeded) {
			t.Errorf("attempt 1: class %q err %v, want timeout", tl[0].ErrClass, tl[0].Err)
		}
		if took != time.Second+100*time.Millisecond {
			t.Errorf("took %v, want 1.1s", took)
		}
	})
}

func TestTransportAttemptTimeoutCoversSlowBodyUntilClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScript(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(200)
			_, _ = io.WriteString(w, "part")
			http.NewResponseController(w).Flush()
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		})
		srv := startPipeServer(t, s)
		rt := New(srv.Transport(), noJitter().WithAttemptTimeout(time.Second))
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "part" || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Errorf("read %q, %v after %v: want the attempt timeout to cut the body at 1s", b, err, time.Since(start))
		}
	})
}

func TestTransportCallerCancelDuringBackoffReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(503).Header("Retry-After", "10"), status(200))
		s := srv.Journal()
		rt := New(srv.Transport(), noJitter())
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() {
			time.Sleep(3 * time.Second)
			cancel()
		}()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/", nil)
		_, _, took, err := send(t, rt, req)
		if took != 3*time.Second {
			t.Errorf("returned after %v, want at the cancel, 3s", took)
		}
		var gu *GiveUpError
		if !errors.As(err, &gu) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want a GiveUpError wrapping context.Canceled", err)
		}
		if gu.Reason != ReasonCanceled || gu.Attempts != 1 || gu.LastStatus != 503 || len(gu.Timeline) != 1 {
			t.Errorf("GiveUpError = %+v", gu)
		}
		if len(s.Calls()) != 1 {
			t.Errorf("%d calls, want 1", len(s.Calls()))
		}
	})
}

func TestTransportCallerDeadlineIsFinalNotAnAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, fi.Hang(), status(200))
		var c collector
		rt := New(srv.Transport(), noJitter().WithAttemptTimeout(10*time.Second), WithObserver(c.observe))
		ctx, cancel := context.WithTimeout(t.Context(), 4*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/", nil)
		_, _, took, err := send(t, rt, req)
		if took != 4*time.Second || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v after %v, want DeadlineExceeded at 4s", err, took)
		}
		var gu *GiveUpError
		if !errors.As(err, &gu) || gu.Reason != ReasonCanceled {
			t.Errorf("err %#v, want GiveUpError with reason canceled", err)
		}
		tl := c.Timeline()
		wantReasons(t, tl, ReasonCanceled)
		if tl[0].ErrClass != ClassCanceled {
			t.Errorf("class %q, want canceled", tl[0].ErrClass)
		}
	})
}

func TestTransportMaxElapsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(503))
		s := srv.Journal()
		var c collector
		p := DefaultPolicy().WithMaxAttempts(10).WithBackoff(ConstantBackoff(time.Second)).WithMaxElapsed(2500 * time.Millisecond)
		rt := New(srv.Transport(), p, WithObserver(c.observe))
		resp, _, took, err := get(t, rt, srv.URL+"/")
		if err != nil || resp.StatusCode != 503 {
			t.Fatalf("got %v %v, want the last 503", resp, err)
		}
		if len(s.Calls()) != 3 || took != 2*time.Second {
			t.Errorf("%d calls in %v, want 3 in 2s (a 4th sleep would end at 3s > 2.5s)", len(s.Calls()), took)
		}
		wantReasons(t, c.Timeline(), ReasonRetryableStatus, ReasonRetryableStatus, ReasonMaxElapsed)
	})
}

func TestTransportMaxAttemptsReturnsLastResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(500), status(502), status(503), status(200))
		var c collector
		rt := New(srv.Transport(), noJitter(), WithObserver(c.observe))
		resp, body, _, err := get(t, rt, srv.URL+"/")
		if err != nil || resp.StatusCode != 503 || body != "Service Unavailable" {
			t.Fatalf("got %v %q %v, want the third response, 503, body intact", resp, body, err)
		}
		wantReasons(t, c.Timeline(), ReasonRetryableStatus, ReasonRetryableStatus, ReasonMaxAttempts)
	})
}

func TestTransportBudgetStopsRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(503))
		s := srv.Journal()
		b := NewBudget(4, 1)
		var c collector
		rt := New(srv.Transport(), noJitter().WithMaxAttempts(5), WithBudget(b), WithObserver(c.observe))
		// 4 tokens: failure → 3 (> 2, retry), failure → 2 (not > 2, stop).
		if resp, _, _, err := get(t, rt, srv.URL+"/"); err != nil || resp.StatusCode != 503 {
			t.Fatalf("got %v %v", resp, err)
		}
		wantReasons(t, c.Timeline(), ReasonRetryableStatus, ReasonBudgetExhausted)
		// A second Transport sharing the budget: failure → 1, no retry.
		var c2 collector
		rt2 := New(srv.Transport(), noJitter().WithMaxAttempts(5), WithBudget(b), WithObserver(c2.observe))
		_, _, _, _ = get(t, rt2, srv.URL+"/")
		wantReasons(t, c2.Timeline(), ReasonBudgetExhausted)
		if got := b.Tokens(); got != 1 {
			t.Errorf("tokens %v, want 1", got)
		}
		if len(s.Calls()) != 3 {
			t.Errorf("%d calls, want 3", len(s.Calls()))
		}
	})
}

func TestTransportReusesConnectionAcrossAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		big := strings.Repeat("x", 32<<10)
		srv := serveSteps(t, status(503).Body(big), status(502).Body(big), status(200))
		rt := New(srv.Transport(), noJitter())
		if resp, _, _, err := get(t, rt, srv.URL+"/"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("got %v %v", resp, err)
		}
		for _, c := range srv.Journal().Calls() {
			if c.ConnID != 1 {
				t.Errorf("call #%d came on connection %d; want all 3 sequential attempts on 1 (discarded bodies must be drained and closed)", c.Seq, c.ConnID)
			}
		}
	})
}

func TestTransportLeavesCallersRequestUnmodified(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(503), status(503), status(200))
		s := srv.Journal()
		rt := New(srv.Transport(), noJitter().WithAttemptTimeout(time.Minute),
			WithAttemptHeader(DefaultAttemptHeader), WithIdempotencyKeys())
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/orders?x=1", strings.NewReader("body"))
		req.Header.Set("X-Trace", "t1")
		before := req.Header.Clone()
		url, ctx, getBody := req.URL.String(), req.Context(), req.GetBody
		resp, _, _, err := send(t, rt, req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("got %v %v", resp, err)
		}
		if !reflect.DeepEqual(req.Header, before) || req.URL.String() != url || req.Context() != ctx ||
			req.Method != http.MethodPost || reflect.ValueOf(req.GetBody).Pointer() != reflect.ValueOf(getBody).Pointer() {
			t.Errorf("caller's request changed: %v %v", req.Header, req.URL)
		}
		calls := s.Calls()
		for i, c := range calls {
			if c.Attempt != i+1 || c.Header.Get("X-Trace") != "t1" {
				t.Errorf("call %d: attempt header %d, X-Trace %q", i+1, c.Attempt, c.Header.Get("X-Trace"))
			}
		}
	})
}

func TestTransportGiveUpErrorAfterConnectionErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScript(respond(200))
		srv := startPipeServer(t, s)
		srv.l.Close() // every dial is now refused
		rt := New(srv.Transport(), noJitter())
		client := &http.Client{Transport: rt}
		start := time.Now()
		_, err := client.Get(srv.URL + "/users")
		var gu *GiveUpError
		if !errors.As(err, &gu) {
			t.Fatalf("err = %v, want a *GiveUpError", err)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("errors.Is(err, ECONNREFUSED) = false for %v", err)
		}
		if gu.Attempts != 3 || gu.LastStatus != 0 || gu.Reason != ReasonMaxAttempts || len(gu.Timeline) != 3 {
			t.Errorf("GiveUpError = %+v", gu)
		}
		for _, a := range gu.Timeline {
			if a.ErrClass != ClassConnection {
				t.Errorf("attempt %d class %q, want connection", a.Number, a.ErrClass)
			}
		}
		if !strings.HasPrefix(gu.Error(), "retryclient: gave up after 3 attempts: ") || !strings.HasSuffix(gu.Error(), "(max-attempts)") {
			t.Errorf("Error() = %q", gu.Error())
		}
		if time.Since(start) != 300*time.Millisecond {
			t.Errorf("took %v, want 300ms", time.Since(start))
		}
	})
}

func TestTransportRetriesResetConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, fi.Reset(), status(200))
		var c collector
		rt := New(srv.Transport(), noJitter(), WithObserver(c.observe))
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/", strings.NewReader("v"))
		resp, _, _, err := send(t, rt, req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("got %v %v", resp, err)
		}
		tl := c.Timeline()
		wantReasons(t, tl, ReasonConnError, ReasonSuccess)
		if tl[0].ErrClass != ClassConnection {
			t.Errorf("class %q, want connection (%v)", tl[0].ErrClass, tl[0].Err)
		}
	})
}

func TestTransportBodyTooLargeFailsBeforeSending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(200))
		s := srv.Journal()
		rt := New(srv.Transport(), noJitter().WithMaxBufferedBody(10))
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/", io.MultiReader(strings.NewReader("0123456789A")))
		_, _, _, err := send(t, rt, req)
		if !errors.Is(err, ErrBodyTooLarge) || Classify(err) != ClassBodyTooLarge || !strings.HasPrefix(err.Error(), "retryclient: ") {
			t.Errorf("err = %v, want ErrBodyTooLarge", err)
		}
		if len(s.Calls()) != 0 {
			t.Errorf("%d calls, want none", len(s.Calls()))
		}
		// Exactly at the limit is fine.
		req, _ = http.NewRequest(http.MethodPut, srv.URL+"/", io.MultiReader(strings.NewReader("0123456789")))
		if _, _, _, err := send(t, rt, req); err != nil {
			t.Errorf("body at the limit: %v", err)
		}
	})
}

func TestTransportStreamsBodiesThatWillNotBeRetried(t *testing.T) {
	cases := []struct {
		name   string
		method string
		policy Policy
	}{
		{"POST without key", http.MethodPost, noJitter().WithMaxBufferedBody(4)},
		{"single attempt", http.MethodPut, noJitter().WithMaxBufferedBody(4).WithMaxAttempts(1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := serveSteps(t, status(503))
				s := srv.Journal()
				req, _ := http.NewRequest(tc.method, srv.URL+"/", io.MultiReader(strings.NewReader("more than four bytes")))
				resp, _, _, err := send(t, New(srv.Transport(), tc.policy), req)
				if err != nil || resp.StatusCode != 503 {
					t.Fatalf("got %v %v, want the 503", resp, err)
				}
				if c := s.Calls(); len(c) != 1 || c[0].BodyLen != 20 {
					t.Errorf("calls %+v, want one with the whole body", c)
				}
			})
		})
	}
}

func TestTransportInvalidPolicyFailsEveryRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(200))
		s := srv.Journal()
		rt := New(srv.Transport(), DefaultPolicy().WithMaxAttempts(0))
		if rt.Err() == nil {
			t.Fatal("Err() = nil for MaxAttempts 0")
		}
		_, _, _, err := get(t, rt, srv.URL+"/")
		if err == nil || err.Error() != "retryclient: MaxAttempts must be >= 1, got 0" {
			t.Errorf("err = %v", err)
		}
		if len(s.Calls()) != 0 {
			t.Errorf("%d calls, want none", len(s.Calls()))
		}
	})
}

func TestTransportLogsRetriesAndGiveUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(503))
		var buf bytes.Buffer
		var mu sync.Mutex
		h := slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{
			Level: slog.LevelDebug,
			ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			},
		})
		rt := New(srv.Transport(), noJitter().WithMaxAttempts(2), WithLogger(slog.New(h)))
		_, _, _, _ = get(t, rt, srv.URL+"/users")
		want := `level=INFO msg="retryclient: retrying" method=GET url=` + srv.URL + `/users attempt=1 status=503 reason=retryable-status delay=100ms
level=WARN msg="retryclient: giving up" method=GET url=` + srv.URL + `/users attempt=2 status=503 reason=max-attempts
`
		if buf.String() != want {
			t.Errorf("log:\n%s\nwant:\n%s", buf.String(), want)
		}
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func TestTransportConcurrentRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		seen := map[string]int{}
		srv := startPipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[r.URL.Path]++
			n := seen[r.URL.Path]
			mu.Unlock()
			if n < 3 {
				w.WriteHeader(503)
				return
			}
			w.WriteHeader(200)
		}))
		var c collector
		rt := New(srv.Transport(), DefaultPolicy(), WithRand(rand.NewPCG(1, 2)), WithObserver(c.observe))
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				resp, _, _, err := get(t, rt, srv.URL+"/r/"+strconv.Itoa(i))
				if err != nil || resp.StatusCode != 200 {
					t.Errorf("request %d: %v %v", i, resp, err)
				}
			})
		}
		wg.Wait()
		byID := map[uint64]int{}
		for _, a := range c.Timeline() {
			byID[a.RequestID]++
		}
		if len(byID) != 20 {
			t.Errorf("%d request IDs, want 20", len(byID))
		}
		for id, n := range byID {
			if n != 3 {
				t.Errorf("request %d: %d attempts, want 3", id, n)
			}
		}
	})
}
