package faultinject

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Recorder passes requests through to an upstream and remembers each
// response, so that the traffic can be written as a scenario (WriteScenario)
// and replayed offline with faults added. Requests are grouped into routes
// by method and path pattern: a path segment that is a number, a UUID or a
// long hex string becomes a wildcard ({id}, {id2}, ...). Each route's steps
// are its responses in the order they came, identical consecutive ones
// merged with times. Secrets (Authorization, Proxy-Authorization, Cookie,
// Set-Cookie) are never written unless KeepSecrets is set; response
// headers that describe the transfer (Content-Length, Date, hop-by-hop
// ones) are left out. A Recorder is an http.Handler and is safe for
// concurrent use.
type Recorder struct {
	// KeepSecrets writes the secret headers of responses verbatim.
	KeepSecrets bool

	proxy *httputil.ReverseProxy

	mu     sync.Mutex
	routes []*recordedRoute
	byKey  map[string]*recordedRoute
}

// MaxRecordedBody is the largest response body a Recorder keeps; a longer
// one is relayed whole but recorded cut to this size, with a note.
const MaxRecordedBody = 1 << 20

type recordedRoute struct {
	pattern string
	steps   []recordedStep
}

type recordedStep struct {
	status int
	header http.Header
	body   []byte
	times  int
}

// NewRecorder returns a Recorder that forwards to upstream, an absolute
// http or https URL.
func NewRecorder(upstream string) (*Recorder, error) {
	up, err := newUpstream(upstream, 0)
	if err != nil {
		return nil, err
	}
	r := &Recorder{byKey: map[string]*recordedRoute{}}
	p := *up.proxy
	p.ModifyResponse = r.capture
	r.proxy = &p
	return r, nil
}

// ServeHTTP forwards req and records the response.
func (r *Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) { r.proxy.ServeHTTP(w, req) }

// capture records resp while it streams to the client.
func (r *Recorder) capture(resp *http.Response) error {
	pattern := resp.Request.Method + " " + pathPattern(resp.Request.URL.Path)
	h := resp.Header.Clone()
	for _, name := range []string{"Content-Length", "Date", "Connection", "Keep-Alive", "Transfer-Encoding", "Trailer", "Upgrade", "Te", "Proxy-Authenticate"} {
		h.Del(name)
	}
	if !r.KeepSecrets {
		for name := range h {
			if isSecret(name) {
				h.Del(name)
			}
		}
	}
	tee := &limitedBuffer{left: MaxRecordedBody}
	status := resp.StatusCode
	resp.Body = &recordingBody{ReadCloser: resp.Body, tee: tee, done: func() {
		r.add(pattern, recordedStep{status: status, header: h, body: tee.b, times: 1})
	}}
	return nil
}

// recordingBody copies what the client reads and records it once closed.
type recordingBody struct {
	io.ReadCloser
	tee  *limitedBuffer
	done func()
	once sync.Once
}

func (b *recordingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.tee.Write(p[:n])
	return n, err
}

func (b *recordingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}

func (r *Recorder) add(pattern string, st recordedStep) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rt := r.byKey[pattern]
	if rt == nil {
		rt = &recordedRoute{pattern: pattern}
		r.byKey[pattern] = rt
		r.routes = append(r.routes, rt)
	}
	if n := len(rt.steps); n > 0 {
		last := &rt.steps[n-1]
		if last.status == st.status && bytes.Equal(last.body, st.body) && headersEqual(last.header, st.header) {
			last.times++
			return
		}
	}
	rt.steps = append(rt.steps, st)
}

func headersEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

var (
	numericSegment = regexp.MustCompile(`^[0-9]+$`)
	uuidSegment    = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	hexSegment     = regexp.MustCompile(`^[0-9a-fA-F]{16,}$`)
)

// pathPattern turns a path into a ServeMux pattern: ids become wildcards.
func pathPattern(path string) string {
	segs := strings.Split(path, "/")
	n := 0
	for i, s := range segs {
		if numericSegment.MatchString(s) || uuidSegment.MatchString(s) || hexSegment.MatchString(s) {
			n++
			name := "id"
			if n > 1 {
				name += strconv.Itoa(n)
			}
			segs[i] = "{" + name + "}"
		}
	}
	p := strings.Join(segs, "/")
	if p == "" {
		p = "/"
	}
	return p
}

// Len returns how many responses the Recorder has recorded.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rt := range r.routes {
		for _, st := range rt.steps {
			n += st.times
		}
	}
	return n
}

// WriteScenario writes the recorded traffic as a scenario file at path,
// named name, with each response body in a file of its own in a directory
// beside it (path without its extension, plus "-bodies"), referenced by
// body-file: a scenario LoadScenario replays offline. It writes nothing
// and returns an error when nothing was recorded.
func (r *Recorder) WriteScenario(path, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.routes) == 0 {
		return fmt.Errorf("faultinject: Recorder: nothing was recorded")
	}
	dir := strings.TrimSuffix(path, filepath.Ext(path)) + "-bodies"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("faultinject: Recorder: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Recorded by faultinject.Recorder: the responses of the upstream, in order.\n")
	fmt.Fprintf(&b, "name: %s\nroutes:\n", strconv.Quote(name))
	routes := slices.Clone(r.routes)
	slices.SortStableFunc(routes, func(a, b *recordedRoute) int { return strings.Compare(a.pattern, b.pattern) })
	for i, rt := range routes {
		fmt.Fprintf(&b, "  - route: %s\n    steps:\n", strconv.Quote(rt.pattern))
		for j, st := range rt.steps {
			fmt.Fprintf(&b, "      - respond: %d\n", st.status)
			if st.times > 1 {
				fmt.Fprintf(&b, "        times: %d\n", st.times)
			}
			if len(st.header) > 0 {
				b.WriteString("        headers:\n")
				for _, k := range slices.Sorted(mapKeys(st.header)) {
					fmt.Fprintf(&b, "          %s: %s\n", strconv.Quote(k), strconv.Quote(strings.Join(st.header[k], ", ")))
				}
			}
			if len(st.body) > 0 {
				file := fmt.Sprintf("route%d-step%d.body", i+1, j+1)
				if err := os.WriteFile(filepath.Join(dir, file), st.body, 0o644); err != nil {
					return fmt.Errorf("faultinject: Recorder: %w", err)
				}
				fmt.Fprintf(&b, "        body-file: %s\n", strconv.Quote(filepath.Base(dir)+"/"+file))
			}
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("faultinject: Recorder: %w", err)
	}
	return nil
}

func mapKeys(h http.Header) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	}
}
