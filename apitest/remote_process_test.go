package apitest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/retrylab/retrylab/apitest"
)

// TestProcessesShareOneServer runs the testdata/remote suite in three
// processes at once against one server with the admin API, as ginkgo -p
// processes or CI shards would: every spec of every process plays the same
// scenario in its own session and asserts exact call counts.
func TestProcessesShareOneServer(t *testing.T) {
	skipUnlessPlainGoTest(t)
	bin := filepath.Join(t.TempDir(), "remote.test")
	if out, err := exec.Command("go", "test", "-c", "-tags", testdataTag, "-o", bin, "./testdata/remote").CombinedOutput(); err != nil {
		t.Fatalf("building the suite: %v\n%s", err, out)
	}
	srv := sharedServer(t)
	const processes = 3
	outs := make([]string, processes)
	errs := make([]error, processes)
	var wg sync.WaitGroup
	for i := range processes {
		wg.Go(func() {
			cmd := exec.Command(bin, "-test.count=1", "-ginkgo.no-color")
			cmd.Env = append(os.Environ(), apitest.RemoteEnv+"="+srv.URL)
			out, err := cmd.CombinedOutput()
			outs[i], errs[i] = string(out), err
		})
	}
	wg.Wait()
	for i := range processes {
		if errs[i] != nil || !strings.Contains(outs[i], "Ran 3 of 3 Specs") {
			t.Errorf("process %d: %v\n%s", i+1, errs[i], outs[i])
		}
	}
	if n := len(remoteSessions(t, srv)); n != 0 {
		t.Errorf("%d sessions left on the server, want 0", n)
	}
	if srv.Journal().Len() != 0 {
		t.Errorf("the server's own scenario got calls:\n%v", srv.Journal())
	}
}
