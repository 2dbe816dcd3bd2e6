//go:build unix

package suites_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onsi/gomega"

	"github.com/retrylab/retrylab/suites"
)

// TestExecReapsChildren: a command killed at its deadline takes the
// processes it started with it: no orphan outlives the check.
func TestExecReapsChildren(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	command := fmt.Sprintf("sleep 60 & echo $! > %s; wait", pidFile)
	s := suites.Subject{Exec: &suites.Exec{Command: command, Timeout: 300 * time.Millisecond}}
	r := suites.CheckAll(context.Background(), s, []suites.Rule{rule(t, "does not retry 501 or 505")}, 1)[0]
	if r.Verdict != suites.Broken {
		t.Fatalf("got %s: %s", r.Verdict, r.Reason)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	// The grandchild is killed with its group; init reaps it.
	gomega.NewWithT(t).Eventually(func() error {
		return syscall.Kill(pid, 0)
	}).WithTimeout(5 * time.Second).Should(gomega.MatchError(syscall.ESRCH))
}
