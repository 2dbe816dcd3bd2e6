//go:build !unix

package faultinject

// openFileLimit returns a conservative limit where the process's open-file
// limit cannot be read.
func openFileLimit() int { return 8192 }
