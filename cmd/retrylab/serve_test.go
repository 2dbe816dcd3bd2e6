package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/retrylab/retrylab/faultinject"
)

func TestBinaryServe(t *testing.T) {
	cmd := exec.Command(binary(t), "serve", "--scenario", "transient-503", "--addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatal("no output")
	}
	first := lines.Text()
	url := first[strings.LastIndex(first, " ")+1:]
	if !strings.HasPrefix(first, `serving scenario "transient-503" on http://127.0.0.1:`) {
		t.Fatalf("first line %q", first)
	}
	var codes []int
	for range 3 {
		resp, err := http.Get(url + "/items/1")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 503 || codes[1] != 503 || codes[2] != 200 {
		t.Errorf("answers %v, want [503 503 200]", codes)
	}
	resp, err := http.Get(url + "/__admin/journal")
	if err != nil {
		t.Fatal(err)
	}
	var j faultinject.AdminJournal
	err = json.NewDecoder(resp.Body).Decode(&j)
	resp.Body.Close()
	if err != nil || len(j.Calls) != 3 {
		t.Errorf("journal: %v, %d calls", err, len(j.Calls))
	}

	// Graceful shutdown on SIGINT.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	// Read the rest of the output before Wait, which closes the pipe.
	restc := make(chan []string, 1)
	go func() {
		var rest []string
		for lines.Scan() {
			rest = append(rest, lines.Text())
		}
		restc <- rest
	}()
	var rest []string
	select {
	case rest = <-restc:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGINT")
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGINT: %v", err)
	}
	if len(rest) == 0 || rest[len(rest)-1] != "stopped after 3 calls" {
		t.Errorf("last lines %q", rest)
	}
}

func TestBinaryServeBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := runBinary(t, "serve", "--scenario", "default", "--addr", ln.Addr().String())
	want := "retrylab serve: " + ln.Addr().String() + " is already in use; pick another --addr (port 0 picks a free one)\n"
	if r.code != 2 || r.stderr != want {
		t.Errorf("status %d, stderr %q, want 2 and %q", r.code, r.stderr, want)
	}
}
