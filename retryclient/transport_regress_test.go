package retryclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// dribble503 answers 503 at once, then sends 1 KiB of body 16 bytes every
// 100ms (6.4s in all) unless the client goes away.
func dribble503(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(503)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	chunk := strings.Repeat("x", 16)
	for range 64 {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
		if _, err := io.WriteString(w, chunk); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// Regression: the discarded body was drained after the retry decision and
// before the sleep, so a slowly dribbling 503 body turned a 1s backoff into
// a 7.4s gap and broke MaxElapsed. The drain is now cut off when the delay
// ends, and Attempt.Delay is the real gap.
func TestTransportSlowDiscardedBodyDoesNotStretchBackoffOrMaxElapsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScript(dribble503, dribble503, respond(503))
		srv := startPipeServer(t, s)
		var c collector
		p := DefaultPolicy().WithMaxAttempts(10).WithBackoff(ConstantBackoff(time.Second)).WithMaxElapsed(2500 * time.Millisecond)
		rt := New(srv.Transport(), p, WithObserver(c.observe))
		resp, _, took, err := get(t, rt, srv.URL+"/")
		if err != nil || resp.StatusCode != 503 {
			t.Fatalf("got %v %v, want the last 503", resp, err)
		}
		wantGaps(t, s.Calls(), time.Second, time.Second)
		if took != 2*time.Second {
			t.Errorf("took %v, want 2s", took)
		}
		tl := c.Timeline()
		wantReasons(t, tl, ReasonRetryableStatus, ReasonRetryableStatus, ReasonMaxElapsed)
		for i, a := range tl[:2] {
			if gap := tl[i+1].Start.Sub(a.Start.Add(a.Duration)); a.Delay != gap || a.Delay != time.Second {
				t.Errorf("attempt %d: Delay %v, real gap %v, want both 1s\n%s", a.Number, a.Delay, gap, tl)
			}
		}
	})
}

// Regression companion: with Retry-After 0 a dribbling body gets the 10ms
// drain window, and the record shows that real gap.
func TestTransportZeroDelayDrainWindowIsRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScript(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "0")
			dribble503(w, r)
		}, respond(200))
		srv := startPipeServer(t, s)
		var c collector
		resp, _, _, err := get(t, New(srv.Transport(), noJitter(), WithObserver(c.observe)), srv.URL+"/")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("got %v %v", resp, err)
		}
		wantGaps(t, s.Calls(), minDrainWindow)
		if d := c.Timeline()[0].Delay; d != minDrainWindow {
			t.Errorf("Delay %v, want the real gap %v", d, minDrainWindow)
		}
	})
}

// stubbornBody yields one byte every 600ms and ignores Close.
type stubbornBody struct{}

func (stubbornBody) Read(p []byte) (int, error) {
	time.Sleep(600 * time.Millisecond)
	p[0] = 'x'
	return 1, nil
}

func (stubbornBody) Close() error { return nil }

// Regression: a discarded body whose Read ignores Close overruns the wake
// time by one Read; the overrun is recorded as the real delay, and an
// overrun past the MaxElapsed horizon stops with ReasonMaxElapsed.
func TestTransportDrainOverrunIsRecordedAndRespectsMaxElapsed(t *testing.T) {
	cases := []struct {
		name       string
		maxElapsed time.Duration
		wantDelay  time.Duration
		wantReason Reason
		wantCalls  int
	}{
		{"overrun within MaxElapsed retries at once", 1500 * time.Millisecond, 1200 * time.Millisecond, ReasonRetryableStatus, 2},
		{"overrun past MaxElapsed stops", 1100 * time.Millisecond, 0, ReasonMaxElapsed, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var starts []time.Time
				next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
					starts = append(starts, time.Now())
					if len(starts) > 1 {
						return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}}, nil
					}
					return &http.Response{StatusCode: 503, Body: stubbornBody{}, Header: http.Header{}}, nil
				})
				var c collector
				p := DefaultPolicy().WithMaxAttempts(5).WithBackoff(ConstantBackoff(time.Second)).WithMaxElapsed(tc.maxElapsed)
				_, _, _, err := get(t, New(next, p, WithObserver(c.observe)), "http://api.test/")
				tl := c.Timeline()
				if len(starts) != tc.wantCalls || tl[0].Reason != tc.wantReason || tl[0].Delay != tc.wantDelay {
					t.Fatalf("%d calls, attempt 1 = %+v; want %d calls, reason %s, delay %v", len(starts), tl[0], tc.wantCalls, tc.wantReason, tc.wantDelay)
				}
				if tc.wantCalls == 2 {
					if gap := starts[1].Sub(starts[0]); gap != tc.wantDelay || err != nil {
						t.Errorf("gap %v (err %v), want %v", gap, err, tc.wantDelay)
					}
					return
				}
				var gu *GiveUpError
				if !errors.As(err, &gu) || gu.Reason != ReasonMaxElapsed || gu.LastStatus != 503 || gu.Attempts != 1 {
					t.Errorf("err = %v, want a max-elapsed GiveUpError after the 503 (its body is spent)", err)
				}
			})
		})
	}
}

// Regression: buffering a request body without GetBody ignored the
// caller's context and Request.Cancel, so a slowly streaming body made a
// canceled call hang until the body ended.
func TestTransportBufferingBodyStopsOnCancel(t *testing.T) {
	for _, via := range []string{"context", "Request.Cancel"} {
		t.Run(via, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := serveSteps(t, status(200))
				s := srv.Journal()
				pr, pw := io.Pipe()
				writerDone := make(chan struct{})
				defer func() { <-writerDone }()
				go func() {
					defer close(writerDone)
					for {
						if _, err := pw.Write([]byte("a")); err != nil {
							return
						}
						time.Sleep(time.Second)
					}
				}()
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL+"/", pr)
				stop := cancel
				if via == "Request.Cancel" {
					ch := make(chan struct{})
					req.Cancel = ch //lint:ignore SA1019 testing the deprecated field on purpose
					stop = func() { close(ch) }
				}
				time.AfterFunc(2500*time.Millisecond, stop)
				_, _, took, err := send(t, New(srv.Transport(), noJitter()), req)
				var gu *GiveUpError
				if !errors.As(err, &gu) || gu.Attempts != 0 || gu.Reason != ReasonCanceled || took != 2500*time.Millisecond {
					t.Fatalf("err %#v after %v, want a canceled GiveUpError with 0 attempts at 2.5s", err, took)
				}
				if via == "context" && !errors.Is(err, context.Canceled) {
					t.Errorf("errors.Is(err, context.Canceled) = false: %v", err)
				}
				if _, werr := pw.Write([]byte("b")); !errors.Is(werr, io.ErrClosedPipe) {
					t.Errorf("request body not closed: write returned %v", werr)
				}
				if len(s.Calls()) != 0 {
					t.Errorf("%d calls, want none", len(s.Calls()))
				}
			})
		})
	}
}
