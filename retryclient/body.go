package retryclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"
)

// maxDrain is how many bytes of a discarded response body are read before
// it is closed, so that its connection can be reused.
const maxDrain = 64 << 10

// minDrainWindow is the least time a discarded body gets to finish before
// it is closed, so that a zero or tiny delay (Retry-After: 0) still lets
// the connection be reused.
const minDrainWindow = 10 * time.Millisecond

// drainUntil reads at most maxDrain bytes of rc, stopping at deadline, and
// closes it. A Read still blocked at deadline is interrupted by closing rc
// from a timer, so a slowly dribbling body cannot stretch the wait before
// the next attempt; a body whose Read ignores Close overruns the deadline
// by at most one Read. cut reports that the deadline, not the end of the
// body or the byte limit, stopped the drain.
func drainUntil(rc io.ReadCloser, deadline time.Time) (cut bool) {
	if rc == nil {
		return false
	}
	d := time.Until(deadline)
	if d <= 0 {
		_ = rc.Close()
		return false
	}
	timer := time.AfterFunc(d, func() { _ = rc.Close() })
	buf := make([]byte, 4<<10)
	for left := maxDrain; left > 0; {
		n, err := rc.Read(buf[:min(len(buf), left)])
		left -= n
		if err != nil {
			break
		}
		if !time.Now().Before(deadline) {
			cut = true
			break
		}
	}
	if timer.Stop() {
		_ = rc.Close()
	} else {
		cut = true
	}
	return cut
}

// bufferBody reads rc (at most limit bytes) and closes it. A longer body
// yields an error wrapping ErrBodyTooLarge. The read stops as soon as ctx
// is done or cancel (a Request.Cancel channel, may be nil) is closed: rc is
// closed to unblock a Read in progress, and the error is a [*GiveUpError]
// with no attempts and [ReasonCanceled].
func bufferBody(ctx context.Context, cancel <-chan struct{}, rc io.ReadCloser, limit int64) ([]byte, error) {
	if cancel != nil {
		var stop context.CancelCauseFunc
		ctx, stop = context.WithCancelCause(ctx)
		defer stop(nil)
		go func() {
			select {
			case <-cancel:
				stop(errRequestCanceled)
			case <-ctx.Done():
			}
		}()
	}
	stopClose := context.AfterFunc(ctx, func() { _ = rc.Close() })
	defer func() {
		if stopClose() {
			_ = rc.Close()
		}
	}()
	canceled := func() error {
		if ctx.Err() == nil {
			return nil
		}
		return &GiveUpError{LastErr: context.Cause(ctx), Reason: ReasonCanceled}
	}
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(ctxReader{ctx, rc}, limit+1))
	if cerr := canceled(); cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, fmt.Errorf("retryclient: reading request body for replay: %w", err)
	}
	if n > limit {
		return nil, fmt.Errorf("%w: more than %d bytes and no GetBody (set Request.GetBody or raise Policy.MaxBufferedBody)", ErrBodyTooLarge, limit)
	}
	return buf.Bytes(), nil
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// replayBody returns a GetBody function over buf.
func replayBody(buf []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf)), nil
	}
}

// cancelOnClose keeps a per-attempt context alive until the response body
// is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// cancelOnCloseRW is cancelOnClose for bodies that are also writable
// (101 Switching Protocols).
type cancelOnCloseRW struct {
	cancelOnClose
	w io.Writer
}

func (b *cancelOnCloseRW) Write(p []byte) (int, error) { return b.w.Write(p) }

// wrapCancel makes closing body call cancel.
func wrapCancel(body io.ReadCloser, cancel func()) io.ReadCloser {
	if body == nil {
		return nil
	}
	if w, ok := body.(io.Writer); ok {
		return &cancelOnCloseRW{cancelOnClose{body, cancel}, w}
	}
	return &cancelOnClose{body, cancel}
}
