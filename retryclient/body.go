package retryclient

import (
	"bytes"
	"fmt"
	"io"
)

// maxDrain is how many bytes of a discarded response body are read before
// it is closed, so that its connection can be reused.
const maxDrain = 64 << 10

// drain reads at most maxDrain bytes of rc and closes it.
func drain(rc io.ReadCloser) {
	if rc == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, rc, maxDrain)
	_ = rc.Close()
}

// bufferBody reads rc (at most limit bytes) and closes it. A longer body
// yields an error wrapping ErrBodyTooLarge.
func bufferBody(rc io.ReadCloser, limit int64) ([]byte, error) {
	defer rc.Close()
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("retryclient: reading request body for replay: %w", err)
	}
	if n > limit {
		return nil, fmt.Errorf("%w: more than %d bytes and no GetBody (set Request.GetBody or raise Policy.MaxBufferedBody)", ErrBodyTooLarge, limit)
	}
	return buf.Bytes(), nil
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
