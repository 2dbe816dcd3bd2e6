package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/retrylab/retrylab/faultinject"
)

// serveInProcess runs cmdServe with args until the test ends and returns
// its URL.
func serveInProcess(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := cmdServe(ctx, append([]string{"--scenario", "transient-503", "--addr", "127.0.0.1:0"}, args...), pw, io.Discard)
		pw.CloseWithError(err)
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		t.Fatalf("serve %v: no output (%v)", args, lines.Err())
	}
	go io.Copy(io.Discard, pr)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	first := lines.Text()
	return first[strings.LastIndex(first, " ")+1:]
}

func serveJournal(t *testing.T, url string, calls int) faultinject.AdminJournal {
	t.Helper()
	for range calls {
		req, _ := http.NewRequest("GET", url+"/items/1", nil)
		req.Header.Set("Authorization", "Bearer s3cret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(url + "/__admin/journal")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var j faultinject.AdminJournal
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
		t.Fatal(err)
	}
	return j
}

// TestServeJournalFlags: serve redacts credentials and bounds the journal
// by default; --keep-secrets and --journal-limit change that.
func TestServeJournalFlags(t *testing.T) {
	j := serveJournal(t, serveInProcess(t), 3)
	if len(j.Calls) != 3 || j.Dropped != 0 || j.Calls[0].Header["Authorization"] != faultinject.Redacted {
		t.Errorf("defaults: %d calls, %d dropped, Authorization %q", len(j.Calls), j.Dropped, j.Calls[0].Header["Authorization"])
	}
	j = serveJournal(t, serveInProcess(t, "--keep-secrets", "--journal-limit", "2"), 3)
	if len(j.Calls) != 2 || j.Dropped != 1 || j.Calls[0].Seq != 2 || j.Calls[0].Header["Authorization"] != "Bearer s3cret" {
		t.Errorf("--keep-secrets --journal-limit 2: %d calls from #%d, %d dropped, Authorization %q",
			len(j.Calls), j.Calls[0].Seq, j.Dropped, j.Calls[0].Header["Authorization"])
	}
	err := cmdServe(context.Background(), []string{"--scenario", "default", "--journal-limit", "-1"}, io.Discard, io.Discard)
	if err == nil || err.Error() != "--journal-limit -1: must be 0 (no limit) or more" {
		t.Errorf("negative limit: %v", err)
	}
}
