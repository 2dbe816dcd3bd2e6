package faultinject

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// manyRoutes returns a scenario with n routes of one step each.
func manyRoutes(n int) []byte {
	var b strings.Builder
	b.WriteString("name: many\nroutes:\n")
	for i := range n {
		fmt.Fprintf(&b, "- route: GET /r%d/{id}\n  steps: [{respond: 200}]\n", i)
	}
	return []byte(b.String())
}

// Regression: each route was checked against a new ServeMux holding every
// earlier route, so 4,000 routes took 37.6 s; see also
// BenchmarkParseScenario10kRoutes.
func TestParseScenarioWithMaxRoutes(t *testing.T) {
	s, err := ParseScenario("many.yaml", manyRoutes(MaxRoutes))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Routes) != MaxRoutes || s.Routes[MaxRoutes-1].Pattern != fmt.Sprintf("GET /r%d/{id}", MaxRoutes-1) {
		t.Errorf("parsed %d routes, want %d", len(s.Routes), MaxRoutes)
	}
	_, err = ParseScenario("many.yaml", manyRoutes(MaxRoutes+1))
	if want := fmt.Sprintf("many.yaml:%d:3: more than 10000 routes", 3+2*MaxRoutes); err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	if err := (&Scenario{Name: "g", Routes: make([]Route, MaxRoutes+1)}).Validate(); err == nil ||
		err.Error() != `faultinject: scenario "g": 10001 routes, more than the limit of 10000` {
		t.Errorf("Validate = %v, want the route limit", err)
	}
}

func TestParseScenarioRefusesTooManyChaosEntries(t *testing.T) {
	src := route("      - respond: 200\n") + "chaos:\n" + strings.Repeat("- {probability: 0.1, fault: reset}\n", MaxChaos+1)
	_, err := ParseScenario("c.yaml", []byte(src))
	if want := fmt.Sprintf("c.yaml:%d:3: more than 1000 chaos entries", 5+MaxChaos+1); err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestParseScenarioRefusesLargeInput(t *testing.T) {
	big := append([]byte("name: big\n# "), make([]byte, MaxScenarioSize)...)
	_, err := ParseScenario("big.yaml", big)
	if want := "big.yaml:1:1: 4194316 bytes, larger than the 4 MiB limit"; err == nil || err.Error() != want {
		t.Errorf("ParseScenario error = %v, want %s", err, want)
	}
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, big, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadScenario(path)
	if want := path + ":1:1: the file is larger than the 4 MiB limit"; err == nil || err.Error() != want {
		t.Errorf("LoadScenario error = %v, want %s", err, want)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		// Regression: the file was read to its end, whatever its size.
		if _, err := LoadScenario("/dev/zero"); err == nil || !strings.HasSuffix(err.Error(), "the file is larger than the 4 MiB limit") {
			t.Errorf("LoadScenario(/dev/zero) = %v, want the size limit", err)
		}
	}
}

// stopAfter is a context whose Err becomes context.Canceled after n calls,
// so a test can stop a decoder midway without timing.
type stopAfter struct {
	context.Context
	n atomic.Int64
}

func (c *stopAfter) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// Regression: loading ignored SIGINT and SIGTERM.
func TestParseScenarioContextStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ParseScenarioContext(ctx, "x.yaml", manyRoutes(10)); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled before: error = %v, want context.Canceled", err)
	}
	stop := &stopAfter{Context: context.Background()}
	stop.n.Store(3)
	if _, err := ParseScenarioContext(stop, "x.yaml", manyRoutes(1000)); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled midway: error = %v, want context.Canceled", err)
	}
	if _, err := LoadScenarioContext(ctx, "testdata/flaky-users.yaml"); !errors.Is(err, context.Canceled) {
		t.Errorf("LoadScenarioContext: error = %v, want context.Canceled", err)
	}
}

// Regression: Close waited for an admin upload to be parsed (36.5 s for a
// 443 KB upload); the parse now stops when the server starts closing.
func TestAdminUploadStopsWhenTheServerCloses(t *testing.T) {
	srv := NewPipeServer(NewScenario("s").Route("GET /x", Status(200)).MustBuild(), WithAdmin(false))
	srv.Close()
	w := httptest.NewRecorder()
	srv.serveAdmin(w, httptest.NewRequest(http.MethodPut, PipeURL+"/__admin/scenario", strings.NewReader(string(manyRoutes(100)))))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "the server is closing") {
		t.Errorf("upload during Close = %d %q, want 503 the server is closing", w.Code, w.Body)
	}
	if got := srv.Scenario().Name; got != "s" {
		t.Errorf("scenario = %q after an upload during Close, want it unchanged", got)
	}
}

// Regression: 20 KB of "[" through PUT /__admin/scenario took the server
// from 9 to 636 MB; 40 KB of "{a: " 855 MB.
func TestAdminUploadRefusesDeepNesting(t *testing.T) {
	srv := NewPipeServer(NewScenario("s").Route("GET /x", Status(200)).MustBuild(), WithAdmin(false))
	defer srv.Close()
	for _, body := range []string{strings.Repeat("[", 20<<10), strings.Repeat("{a: ", 10<<10)} {
		req, _ := http.NewRequest(http.MethodPut, PipeURL+"/__admin/scenario", strings.NewReader(body))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b := new(bytes.Buffer)
		_, _ = b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.HasPrefix(b.String(), "admin upload:1:") || !strings.Contains(b.String(), "nested deeper than 32 levels") {
			t.Errorf("upload of %.8q… = %d %q, want 400 admin upload:1:N: nested deeper than 32 levels", body, resp.StatusCode, b)
		}
	}
}

// BenchmarkParseScenario10kRoutes decodes a 10,000-route file (the limit);
// it took minutes when loading was quadratic.
func BenchmarkParseScenario10kRoutes(b *testing.B) {
	data := manyRoutes(MaxRoutes)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseScenario("many.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// Regression: body-file was read to its end, whatever its size.
func TestBodyFileIsBounded(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	_, err := ParseScenario("z.yaml", []byte(route("      - respond: 200\n        body-file: /dev/zero\n")))
	if want := "z.yaml:5:20: body-file: larger than the 64 MiB limit"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestDecodeErrorsQuoteHugeInputBriefly(t *testing.T) {
	_, err := ParseScenario("h.yaml", []byte(route("      - fault: "+strings.Repeat("x", 100<<10)+"\n")))
	if err == nil || !strings.HasPrefix(err.Error(), `h.yaml:4:16: unknown fault "xxx`) || len(err.Error()) > 600 {
		t.Errorf("error = %.100q… (%d bytes), want a short unknown fault message", err, len(fmt.Sprint(err)))
	}
}
