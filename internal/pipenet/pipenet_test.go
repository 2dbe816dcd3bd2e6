package pipenet_test

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrylab/retrylab/internal/pipenet"
)

func TestListener(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := pipenet.New("svc.invalid:80")
		if got := l.Addr().String(); got != "svc.invalid:80" {
			t.Errorf("Addr = %q", got)
		}
		go func() {
			c, err := l.Accept()
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(c, c) // echo
			c.Close()
		}()
		c, err := l.Dial(t.Context(), "tcp", "svc.invalid:80")
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("ping"))
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
			t.Errorf("echo read %q, %v", buf, err)
		}
		c.Close()
		if l.Dials() != 1 {
			t.Errorf("Dials = %d, want 1", l.Dials())
		}

		// Nobody accepts: the dial waits until its context ends.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := l.Dial(ctx, "tcp", ""); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("dial with nobody accepting: %v, want the context's deadline", err)
		}

		l.Close()
		if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
		}
		if _, err := l.Dial(t.Context(), "tcp", ""); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("Dial after Close: %v, want ECONNREFUSED", err)
		}
		if l.Dials() != 1 {
			t.Errorf("Dials = %d after failed dials, want 1", l.Dials())
		}
	})
}
