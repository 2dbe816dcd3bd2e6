package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRecordCommand(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.URL.Path)
	}))
	defer up.Close()
	out := filepath.Join(t.TempDir(), "staging.yaml")
	ctx, stop := context.WithCancel(context.Background())
	var stdout syncBuffer
	code := make(chan int, 1)
	go func() { code <- Main(ctx, []string{"record", "--upstream", up.URL, "--out", out}, &stdout, io.Discard) }()
	addr := regexp.MustCompile(`at (http://[0-9.:]+)`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if m := addr.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		stop()
		t.Fatalf("record did not start: %q", stdout.String())
	}
	resp, err := http.Get(base + "/greetings/42")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello /greetings/42" {
		t.Errorf("relayed %q", body)
	}
	stop()
	if c := <-code; c != 0 {
		t.Fatalf("exit %d: %s", c, stdout.String())
	}
	text, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(text), `route: "GET /greetings/{id}"`) || !strings.Contains(stdout.String(), "wrote "+out+": 1 response recorded") {
		t.Errorf("scenario %q (%v), stdout %q", text, err, stdout.String())
	}
}

func TestRecordUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", "x.yaml"}, "retrylab record: --upstream is required: the real service to record"},
		{[]string{"--upstream", "http://127.0.0.1:9"}, "retrylab record: --out is required: the scenario file to write"},
		{[]string{"--upstream", "ftp://x", "--out", "x.yaml"}, `retrylab record: --upstream "ftp://x": want an http or https URL with a host`},
	} {
		var errb bytes.Buffer
		if code := Main(context.Background(), append([]string{"record"}, c.args...), io.Discard, &errb); code != 2 || strings.TrimSpace(errb.String()) != c.want {
			t.Errorf("record %q: exit %d, %q; want 2 and %q", c.args, code, errb.String(), c.want)
		}
	}
}
