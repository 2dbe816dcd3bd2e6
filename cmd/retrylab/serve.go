package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"

	"github.com/retrylab/retrylab/internal/words"

	"github.com/retrylab/retrylab/faultinject"
)

const serveExamples = `  retrylab serve --scenario default
  retrylab serve --scenario outage.yaml --addr 127.0.0.1:8080
  curl -s localhost:8080/__admin/journal            # the calls so far, as JSON
  curl -s -X POST localhost:8080/__admin/reset       # restart the scripts
  curl -s -X PUT --data-binary @other.yaml localhost:8080/__admin/scenario
  # sessions: isolated runs of scenarios for test processes sharing the server
  curl -s -X PUT --data-binary @other.yaml localhost:8080/__admin/sessions/shard-1
  curl -s -H 'Retrylab-Session: shard-1' localhost:8080/items/1
  curl -s localhost:8080/__admin/sessions/shard-1/journal
  curl -s -X DELETE localhost:8080/__admin/sessions/shard-1
`

func cmdServe(ctx context.Context, args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("serve", "--scenario NAME|FILE [--addr 127.0.0.1:PORT]", serveExamples, stdout)
	scenarioArg := fs.String("scenario", "", "embedded scenario name (see 'retrylab scenarios') or YAML file")
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on; port 0 picks a free port")
	allowRemote := fs.Bool("allow-remote-admin", false, "let non-loopback clients (and any Host) use the admin API under /__admin/")
	keepSecrets := fs.Bool("keep-secrets", false, "journal Authorization, Proxy-Authorization, Cookie and Set-Cookie verbatim instead of [redacted]")
	journalLimit := fs.Int("journal-limit", 100_000, "keep at most this many calls in the journal (and in each session's), dropping the oldest; 0 keeps every call")
	maxSessions := fs.Int("max-sessions", faultinject.DefaultMaxSessions, "the most sessions (Retrylab-Session header, /__admin/sessions/) open at once; creating one more gets 429")
	sessionIdle := fs.Duration("session-idle", faultinject.DefaultSessionIdle, "a session that serves no request for this long expires")
	upstream := fs.String("upstream", "", "the real service (http or https URL) that proxy steps and after: upstream forward to, in place of the scenario's upstream")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *journalLimit < 0 {
		return usagef("--journal-limit %d: must be 0 (no limit) or more", *journalLimit)
	}
	if *maxSessions < 1 {
		return usagef("--max-sessions %d: must be 1 or more", *maxSessions)
	}
	if *sessionIdle <= 0 {
		return usagef("--session-idle %v: must be more than 0s", *sessionIdle)
	}
	s, err := loadScenario(ctx, *scenarioArg)
	if err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(*addr); err != nil {
		return usagef("--addr %q: %v", *addr, err)
	}
	opts := []faultinject.Option{faultinject.WithAdmin(*allowRemote), faultinject.WithJournalLimit(*journalLimit),
		faultinject.WithSessions(*maxSessions, *sessionIdle)}
	if *upstream != "" {
		if u, err := url.Parse(*upstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usagef("--upstream %q: want an http or https URL with a host", *upstream)
		}
		opts = append(opts, faultinject.WithUpstream(*upstream))
	}
	if *keepSecrets {
		opts = append(opts, faultinject.WithSecrets())
	}
	srv, err := faultinject.Listen(*addr, s, opts...)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return usagef("%s is already in use; pick another --addr (port 0 picks a free one)", *addr)
		}
		var oe *net.OpError
		if errors.As(err, &oe) {
			return usagef("--addr %q: %v", *addr, oe.Err)
		}
		return usageError{err.Error()}
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "serving scenario %q on %s\n", s.Name, srv.URL)
	fmt.Fprintf(stdout, "admin API: %s/__admin/journal, /__admin/reset, /__admin/scenario, /__admin/sessions/ (at most %d, expiring after %v idle)\n", srv.URL, *maxSessions, *sessionIdle)
	<-ctx.Done()
	srv.Close()
	fmt.Fprintf(stdout, "stopped after %s\n", words.Plural(srv.Journal().Len()+srv.Journal().Dropped(), "call"))
	return nil
}
