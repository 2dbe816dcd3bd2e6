package faultinject

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onsi/gomega"
)

// dialRaw opens a raw TCP connection to srv.
func dialRaw(t *testing.T, srv *Server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// closedByServer reports whether the server closes c before the deadline
// (the read ends with EOF or a reset, not a timeout).
func closedByServer(c net.Conn, within time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// TestSlowlorisConnectionsAreClosed: regression, the TCP server set no
// ReadHeaderTimeout, so connections that never finished their header were
// never closed.
func TestSlowlorisConnectionsAreClosed(t *testing.T) {
	srv := NewServer(mustBuild(t, NewScenario("s").Route("GET /x", Status(200))), WithConnTimeouts(200*time.Millisecond, 0))
	defer srv.Close()
	const n = 100
	var closed atomic.Int32
	var wg sync.WaitGroup
	for range n {
		c := dialRaw(t, srv)
		defer c.Close()
		fmt.Fprint(c, "GET /x HTTP/1.1\r\nHost: x\r\nX-Slow: ") // and never more
		wg.Go(func() {
			if closedByServer(c, 30*time.Second) {
				closed.Add(1)
			}
		})
	}
	wg.Wait()
	if closed.Load() != n {
		t.Errorf("%d of %d connections with an unfinished header were closed by the server", closed.Load(), n)
	}
	if srv.Journal().Len() != 0 {
		t.Errorf("journal:\n%s", srv.Journal())
	}
}

// TestConnCapMakesRoomForNewClients: regression, at the descriptor limit
// connections with unfinished headers made a normal GET time out. At the
// cap the server closes the oldest connection outside a request; requests
// in progress (a scripted hang here) are left alone.
func TestConnCapMakesRoomForNewClients(t *testing.T) {
	s := mustBuild(t, NewScenario("cap").
		Route("GET /hang", Hang().For(2*time.Second).Respond(200)).
		Route("GET /ok", Status(200)))
	srv := NewServer(s, WithMaxConns(20))
	defer srv.Close()
	hangs := make(chan error, 3)
	for range 3 {
		go func() {
			c := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
			resp, err := c.Get(srv.URL + "/hang")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != 200 {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			hangs <- err
		}()
	}
	gomega.NewWithT(t).Eventually(srv.Journal().Len).WithTimeout(30 * time.Second).Should(gomega.Equal(3))
	for range 60 {
		c := dialRaw(t, srv)
		defer c.Close()
		fmt.Fprint(c, "GET /ok HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	}
	c := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	resp, err := c.Get(srv.URL + "/ok")
	if err != nil {
		t.Fatalf("a normal GET with 60 unfinished headers held open: %v", err)
	}
	resp.Body.Close()
	if open := srv.guard.open(); open > 20 {
		t.Errorf("%d connections open, cap 20", open)
	}
	for range 3 {
		if err := <-hangs; err != nil {
			t.Errorf("a request inside a scripted hang was cut: %v", err)
		}
	}
	for _, call := range srv.Journal().Calls() {
		if call.Path == "/hang" && (call.Status != 200 || call.Outcome != "") {
			t.Errorf("hang: %+v", call)
		}
	}
}

// TestScriptedWaitsOutlastConnTimeouts: the header and idle timeouts never
// cut a scripted hang, delay or slow body, however long, nor an upload that
// keeps moving.
func TestScriptedWaitsOutlastConnTimeouts(t *testing.T) {
	s := mustBuild(t, NewScenario("long").
		Route("GET /hang", Hang().For(1200*time.Millisecond).Respond(200).Body("late")).
		Route("GET /delay", Status(200).Delay(1200*time.Millisecond).Body("late")).
		Route("GET /slow", SlowBody().Respond(200).Body("late!").Chunk(1).Every(300*time.Millisecond)).
		Route("POST /upload", Status(201)))
	srv := NewServer(s, WithConnTimeouts(50*time.Millisecond, time.Second))
	defer srv.Close()
	var wg sync.WaitGroup
	for _, path := range []string{"/hang", "/delay", "/slow"} {
		wg.Go(func() {
			resp, body, err := get(t, srv.Client(), srv.URL+path)
			if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(string(body), "late") {
				t.Errorf("%s: %v %q", path, err, body)
			}
		})
	}
	// An upload of 12 parts 100ms apart takes longer than the idle timeout,
	// but never pauses that long.
	pr, pw := io.Pipe()
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for range 12 {
			<-tick.C
			pw.Write([]byte("part"))
		}
		pw.Close()
	})
	resp, err := srv.Client().Post(srv.URL+"/upload", "text/plain", pr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wg.Wait()
	for _, c := range srv.Journal().Calls() {
		if c.Outcome != "" || c.Abandoned() || c.Path == "/upload" && (c.BodyLen != 48 || c.Status != 201) {
			t.Errorf("cut short: %+v", c)
		}
	}
}

// TestStalledUploadIsLetGo: a client that stops sending in the middle of a
// request body is let go after the idle timeout; the call is journaled as
// abandoned and plays no step.
func TestStalledUploadIsLetGo(t *testing.T) {
	srv := NewServer(mustBuild(t, NewScenario("stall").Route("POST /upload", Status(503), Status(201))),
		WithConnTimeouts(0, 100*time.Millisecond))
	defer srv.Close()
	c := dialRaw(t, srv)
	defer c.Close()
	fmt.Fprint(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
	if !closedByServer(c, 30*time.Second) {
		t.Fatal("a stalled upload held its connection")
	}
	call := lastCall(t, srv.Journal())
	if !call.Abandoned() || call.BodyLen != 10 || !strings.Contains(call.Outcome, "timeout") {
		t.Errorf("journal:\n%s", srv.Journal())
	}
	req, _ := http.NewRequest("POST", srv.URL+"/upload", strings.NewReader("x"))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("the first whole upload got %d, want the script's first step (503)", resp.StatusCode)
	}
}

// patternReader yields n bytes of a repeating pattern, hashing them.
type patternReader struct {
	n   int64
	sum hash.Hash
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := int(min(int64(len(p)), r.n))
	for i := range k {
		p[i] = byte('a' + (r.n-int64(i))%26)
	}
	r.n -= int64(k)
	r.sum.Write(p[:k])
	return k, nil
}

// TestLargeBodyStreamsAtLowHeap keeps what held: a 100 MB request body is
// hashed while it streams, never held in memory.
func TestLargeBodyStreamsAtLowHeap(t *testing.T) {
	size := int64(100 << 20)
	if testing.Short() {
		size = 20 << 20
	}
	srv := NewServer(mustBuild(t, NewScenario("big").Route("POST /upload", Status(201))))
	defer srv.Close()
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	body := &patternReader{n: size, sum: sha256.New()}
	req, _ := http.NewRequest("POST", srv.URL+"/upload", body)
	req.ContentLength = size
	resp, err := srv.Client().Do(req)
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c := lastCall(t, srv.Journal())
	if c.BodyLen != size || c.BodySHA256 != hex.EncodeToString(body.sum.Sum(nil)) || resp.StatusCode != 201 {
		t.Errorf("status %d, journal %d bytes sha %s", resp.StatusCode, c.BodyLen, c.BodySHA256)
	}
	if grown := int64(peak.Load()) - int64(base.HeapAlloc); grown > 32<<20 {
		t.Errorf("the heap grew by %d MB while a %d MB body streamed", grown>>20, size>>20)
	}
}

// TestManyIdleConnectionsServed keeps what held: thousands of idle
// keep-alive connections (as many as the descriptor limit allows for both
// ends in one process) stay open, and a new client is served.
func TestManyIdleConnectionsServed(t *testing.T) {
	n := min(2000, (openFileLimit()-256)/2)
	if n < 100 {
		t.Skipf("open-file limit %d too low", openFileLimit())
	}
	srv := NewServer(mustBuild(t, NewScenario("idle").Route("GET /x", Status(200))))
	defer srv.Close()
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = dialRaw(t, srv)
		defer conns[i].Close()
		fmt.Fprint(conns[i], "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	for i, c := range conns {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		resp.Body.Close()
	}
	resp, _ := mustGet(t, &http.Client{Transport: &http.Transport{}}, srv.URL+"/x")
	if resp.StatusCode != 200 || srv.Journal().Len() != n+1 || srv.guard.open() < n {
		t.Errorf("status %d, %d calls, %d connections open; want 200, %d, ≥ %d", resp.StatusCode, srv.Journal().Len(), srv.guard.open(), n+1, n)
	}
}

// TestMalformedRequestLinesRefused keeps what held: malformed request
// lines get 400 (or a closed connection), are not journaled, and the server
// goes on serving.
func TestMalformedRequestLinesRefused(t *testing.T) {
	srv := NewServer(mustBuild(t, NewScenario("m").Route("GET /x", Status(200))))
	defer srv.Close()
	lines := []string{
		"GARBAGE", "GET", "GET /x", "GET /x HTTP/9.9", "GET /x HTTP/1.1 extra", "/x HTTP/1.1",
		"GET  /x HTTP/1.1", "GET\t/x\tHTTP/1.1", "G\x00T /x HTTP/1.1", "GET /x\x00 HTTP/1.1", "GET x HTTP/1.1",
		"GET /x HTTP/1", "GET /x HTTP/a.b", "GET /x http/1.1", "GET /x HTTP/1.1\x7f", "\x16\x03\x01\x02\x00",
		"GET /%zz HTTP/1.1", "GET http://[::1 HTTP/1.1", "GET /x HTTP/01.01", "GET /x HTTP/1.1\r\nBad Header\r\n",
		"GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n", "GET /x HTTP/1.1\r\n: novalue\r\n",
		"GET /x HTTP/1.1\r\nContent-Length: -1\r\n", "GET /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n",
		"GET /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n",
		"GET /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n", "GET /x HTTP/1.1\r\nHo st: a\r\n",
		"G(T /x HTTP/1.1", "GET /x HTTP/1.1\r\nHost: a\x00b\r\n", strings.Repeat("A", 70000),
	}
	for _, line := range lines {
		c := dialRaw(t, srv)
		fmt.Fprint(c, line+"\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Errorf("%.40q: %d", line, resp.StatusCode)
			}
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%.40q: no answer", line)
		}
	}
	if srv.Journal().Len() != 0 {
		t.Errorf("malformed requests journaled:\n%s", srv.Journal())
	}
	if resp, _ := mustGet(t, srv.Client(), srv.URL+"/x"); resp.StatusCode != 200 {
		t.Errorf("after the malformed requests: %d", resp.StatusCode)
	}
}
