//go:build !unix

package suites

import "os/exec"

// ownGroup does nothing where process groups are not available.
func ownGroup(*exec.Cmd) {}

// killGroup kills cmd's process (its children may survive).
func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
