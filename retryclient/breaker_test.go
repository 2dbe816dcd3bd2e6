package retryclient

import (
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sony/gobreaker/v2"
)

func TestTransportWithGobreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(503), status(503), status(503), status(200))
		s := srv.Journal()
		cb := gobreaker.NewTwoStepCircuitBreaker[any](gobreaker.Settings{
			Name:        "users",
			Timeout:     30 * time.Second,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 2 },
		})
		var c collector
		rt := New(srv.Transport(), noJitter().WithMaxAttempts(5), WithBreaker(cb), WithObserver(c.observe))

		_, _, _, err := get(t, rt, srv.URL+"/")
		var gu *GiveUpError
		if !errors.As(err, &gu) || gu.Reason != ReasonCircuitOpen || !errors.Is(err, gobreaker.ErrOpenState) {
			t.Fatalf("err = %v, want a GiveUpError (circuit-open) wrapping gobreaker.ErrOpenState", err)
		}
		if gu.Attempts != 2 || gu.LastStatus != 503 || len(gu.Timeline) != 2 {
			t.Errorf("GiveUpError = %+v", gu)
		}
		if len(s.Calls()) != 2 {
			t.Errorf("%d calls, want 2 before the circuit opened", len(s.Calls()))
		}

		// While open, nothing is sent.
		if _, _, _, err := get(t, rt, srv.URL+"/"); !errors.Is(err, gobreaker.ErrOpenState) {
			t.Errorf("second request: %v, want ErrOpenState", err)
		}
		if len(s.Calls()) != 2 {
			t.Errorf("%d calls while open, want 2", len(s.Calls()))
		}

		// After the breaker's timeout it lets a probe through: the third 503
		// is a retryable failure that reopens it, then a later probe succeeds.
		time.Sleep(30 * time.Second)
		if _, _, _, err := get(t, rt, srv.URL+"/"); !errors.Is(err, gobreaker.ErrOpenState) {
			t.Errorf("probe request: %v, want the reopened circuit", err)
		}
		time.Sleep(30 * time.Second)
		resp, _, _, err := get(t, rt, srv.URL+"/")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("after recovery: %v %v", resp, err)
		}
		if cb.State() != gobreaker.StateClosed {
			t.Errorf("breaker %v, want closed", cb.State())
		}
	})
}
