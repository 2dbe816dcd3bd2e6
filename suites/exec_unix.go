//go:build unix

package suites

import (
	"os/exec"
	"syscall"
)

// ownGroup makes cmd the leader of a new process group, so killGroup
// reaches the processes it starts.
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// killGroup kills cmd's process group.
func killGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
