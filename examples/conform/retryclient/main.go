// Command retryclient is the control subject of retrylab conform: one
// request through retryclient, described by the RETRYLAB_ environment
// variables (see suites.Exec), under the caller's deadline. It keeps every
// rule its promise (promise.yaml) declares.
//
//	retrylab conform --exec 'go run ./examples/conform/retryclient' --promise examples/conform/retryclient/promise.yaml
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

func main() {
	if err := run(); err != nil {
		fmt.Println("retryclient:", err) // on stdout: the moment the client returned
		os.Exit(1)
	}
}

func run() error {
	deadline, err := time.Parse(time.RFC3339Nano, os.Getenv("RETRYLAB_DEADLINE"))
	if err != nil {
		return fmt.Errorf("RETRYLAB_DEADLINE: %w", err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()

	// The default policy, with an attempt timeout and a Retry-After cap
	// short enough to be checked in real time.
	p := retryclient.DefaultPolicy().WithAttemptTimeout(500 * time.Millisecond)
	p.RetryAfter.Cap = 5 * time.Second
	client := retryclient.NewClient(p)

	var body io.Reader
	if f := os.Getenv("RETRYLAB_BODY_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, os.Getenv("RETRYLAB_METHOD"), os.Getenv("RETRYLAB_URL"), body)
	if err != nil {
		return err
	}
	for line := range strings.Lines(os.Getenv("RETRYLAB_HEADERS")) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	fmt.Println(resp.StatusCode)
	return err
}
