package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRunRequestFlags runs `retrylab run` with arbitrary --request and
// --header values against a scenario that answers 200 to everything: bad
// input must be refused with one line and status 2, good input must run
// (status 0); never a panic or an error from deep inside.
func FuzzRunRequestFlags(f *testing.F) {
	f.Add("GET /users/1", "Idempotency-Key: k1")
	f.Add("post /orders?x=1", "X-A:")
	f.Add("GET users", "Bad Name: v")
	f.Add("GET /\r\nX: y", "X-A: a\r\nb")
	f.Add("  GET   /a b ", ": v")
	f.Add("GET /%zz", "X-Ü: v")
	dir := f.TempDir()
	path := filepath.Join(dir, "ok.yaml")
	if err := os.WriteFile(path, []byte("routes:\n  - route: /\n    steps:\n      - respond: 200\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, request, header string) {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), []string{"run", "--scenario", path, "--attempts", "1",
			"--request", request, "--header", header}, &stdout, &stderr)
		switch code {
		case 0:
		case 2:
			msg := strings.TrimSuffix(stderr.String(), "\n")
			if !strings.HasPrefix(msg, "retrylab run: ") || strings.Contains(msg, "\n") || stdout.Len() != 0 {
				t.Fatalf("exit 2 with stderr %q, stdout %q: want one line", stderr.String(), stdout.String())
			}
		default:
			t.Fatalf("--request %q --header %q: exit %d\nstdout: %s\nstderr: %s", request, header, code, stdout.String(), stderr.String())
		}
	})
}
