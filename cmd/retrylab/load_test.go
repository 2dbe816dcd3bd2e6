package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Regression: SIGINT and SIGTERM were ignored while a scenario loaded (a
// 5 MB file ran for more than 600 s); serve and run now stop at once, and
// serve does not start serving.
func TestSignalDuringScenarioLoadStopsTheCommand(t *testing.T) {
	var b strings.Builder
	b.WriteString("routes:\n")
	for i := range 2000 {
		fmt.Fprintf(&b, "- route: GET /r%d\n  steps: [{respond: 200}]\n", i)
	}
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the signal arrived
	for _, args := range [][]string{
		{"serve", "--scenario", path, "--addr", "127.0.0.1:0"},
		{"run", "--scenario", path},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(ctx, args, &stdout, &stderr)
		want := "retrylab " + args[0] + ": interrupted while loading the scenario\n"
		if code != 1 || stderr.String() != want || stdout.Len() != 0 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 and %q", args[0], code, stdout.String(), stderr.String(), want)
		}
	}
}
