package apitest

import (
	"sync/atomic"
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
)

// suiteT is the *testing.T of the Ginkgo suite running in this process.
// Ginkgo runs one suite per process (parallel specs run in separate
// processes), so one slot per process is enough and never shared.
var suiteT atomic.Pointer[testing.T]

// RunSpecs records the suite's *testing.T, registers Ginkgo's Fail as
// Gomega's fail handler, and runs the suite with [ginkgo.RunSpecs].
//
// [VirtualTime] needs the recorded *testing.T: testing/synctest bubbles are
// tied to a concrete *testing.T, which GinkgoT() cannot provide. Call it from
// the suite's single Test function in place of ginkgo.RunSpecs:
//
//	func TestUsers(t *testing.T) {
//		apitest.RunSpecs(t, "Users client")
//	}
func RunSpecs(t *testing.T, description string, args ...any) bool {
	gomega.RegisterFailHandler(ginkgo.Fail)
	suiteT.Store(t)
	defer suiteT.Store(nil)
	return ginkgo.RunSpecs(t, description, args...)
}
