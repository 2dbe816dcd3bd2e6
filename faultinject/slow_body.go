package faultinject

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/retrylab/retrylab/internal/decode"
)

const (
	defaultChunk = 16
	defaultEvery = 100 * time.Millisecond
)

// slowBody sends the step's headers at once, then its body chunk bytes at a
// time with a pause of every between chunks: its parameters chunk
// (Step.Chunk, default 16) and every (Step.Every, default 100ms).
type slowBody struct{}

func init() { register("slow-body", slowBody{}) }

func (slowBody) params() []string { return []string{"chunk", "every"} }

func (slowBody) decodeParam(key string, v decode.Value, st *Step) {
	switch key {
	case "chunk":
		st.Chunk = int(v.Int(key, 1, math.MaxInt32))
	case "every":
		st.Every = v.Duration(key)
	}
}

func (slowBody) hasParams(st *Step) bool { return st.Chunk != 0 || st.Every != 0 }

func (slowBody) check(st *Step) string {
	if st.Chunk < 0 || st.Every < 0 {
		return fmt.Sprintf("chunk %d and every %v must not be negative", st.Chunk, st.Every)
	}
	if st.Respond.Status == 0 {
		return `fault "slow-body" needs respond: STATUS and a body`
	}
	return ""
}

func chunking(st *Step) (int, time.Duration) {
	chunk, every := st.Chunk, st.Every
	if chunk <= 0 {
		chunk = defaultChunk
	}
	if every <= 0 {
		every = defaultEvery
	}
	return chunk, every
}

func (slowBody) serve(x *exchange) {
	st := x.header(x.w.Header())
	x.w.Header().Set("Content-Length", strconv.Itoa(len(x.step.Respond.Body)))
	x.w.WriteHeader(st)
	rc := http.NewResponseController(x.w)
	rc.Flush()
	chunk, every := chunking(x.step)
	body := x.step.Respond.Body
	for len(body) > 0 {
		n := min(chunk, len(body))
		if _, err := x.w.Write(body[:n]); err != nil {
			x.call.outcome("client gone")
			abort()
		}
		rc.Flush()
		body = body[n:]
		if len(body) > 0 && x.gone(x.wait(every)) {
			abort()
		}
	}
}

func (slowBody) mock(x *exchange) (*http.Response, error) {
	chunk, every := chunking(x.step)
	return x.mockResponse(&slowReader{x: x, rest: x.step.Respond.Body, chunk: chunk, every: every}), nil
}

// slowReader yields chunk bytes per Read, waiting every before each chunk
// but the first; it fails with the request context's error.
type slowReader struct {
	x       *exchange
	rest    []byte
	chunk   int
	every   time.Duration
	started bool
}

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.rest) == 0 {
		return 0, io.EOF
	}
	if r.started {
		if r.x.wait(r.every) != waited {
			return 0, r.x.ctx.Err()
		}
	}
	r.started = true
	n := copy(p, r.rest[:min(r.chunk, len(r.rest))])
	r.rest = r.rest[n:]
	return n, nil
}

func (r *slowReader) Close() error { return nil }

// checkUpstream: slow-body dribbles the upstream's body.
func (slowBody) checkUpstream(st *Step) string {
	if st.Chunk < 0 || st.Every < 0 {
		return fmt.Sprintf("chunk %d and every %v must not be negative", st.Chunk, st.Every)
	}
	return ""
}
