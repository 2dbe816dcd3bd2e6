package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/internal/words"
)

const recordExamples = `  retrylab record --upstream https://orders.staging.example --out orders.yaml
  retrylab record --upstream http://127.0.0.1:9000 --addr 127.0.0.1:8081 --out recorded.yaml --keep-secrets
  # point the client at the printed address, run it, then Ctrl-C: the scenario is written
`

func cmdRecord(ctx context.Context, args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("record", "--upstream URL --out FILE [--addr 127.0.0.1:PORT]", recordExamples, stdout)
	upstream := fs.String("upstream", "", "the real service to pass traffic through to (http or https URL)")
	out := fs.String("out", "", "the scenario file to write when stopped (bodies go to FILE-bodies/ beside it)")
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on; port 0 picks a free port")
	name := fs.String("name", "", "the scenario's name (default: the file name without .yaml)")
	keepSecrets := fs.Bool("keep-secrets", false, "write Authorization, Cookie and Set-Cookie response headers instead of leaving them out")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *upstream == "":
		return usagef("--upstream is required: the real service to record")
	case *out == "":
		return usagef("--out is required: the scenario file to write")
	}
	if u, err := url.Parse(*upstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("--upstream %q: want an http or https URL with a host", *upstream)
	}
	if err := writable(*out); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(*addr); err != nil {
		return usagef("--addr %q: %v", *addr, err)
	}
	if *name == "" {
		*name = strings.TrimSuffix(filepath.Base(*out), filepath.Ext(*out))
	}
	rec, err := faultinject.NewRecorder(*upstream)
	if err != nil {
		return usageError{err.Error()}
	}
	rec.KeepSecrets = *keepSecrets
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return usagef("--addr %q: %v", *addr, err)
	}
	srv := &http.Server{Handler: rec, ReadHeaderTimeout: faultinject.DefaultReadHeaderTimeout}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "recording %s at http://%s (stop with Ctrl-C to write %s)\n", *upstream, ln.Addr(), *out)
	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if err := rec.WriteScenario(*out, *name); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %s recorded\n", *out, words.Plural(rec.Len(), "response"))
	return nil
}
