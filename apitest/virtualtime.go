package apitest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
)

// VirtualTime is a Ginkgo decorator that runs the decorated node's body inside
// a testing/synctest bubble, so sleeps, timers, context deadlines,
// http.Client timeouts, server handler delays and Gomega's Eventually all run
// on a fake clock that jumps forward whenever every goroutine in the bubble is
// blocked. A 30 s backoff takes microseconds of wall time.
//
// VirtualTime is experimental: Ginkgo has no native synctest support, so it is
// a bridge built on [ginkgo.AroundNode] and needs the suite to be started with
// [RunSpecs]. Each decorated node runs as a subtest of the suite's *testing.T
// with its own bubble:
//
//   - The body must take a context.Context and use it, never a SpecContext
//     captured elsewhere: the context it receives has the bubble's Done, Err
//     and Deadline and carries the bubble's *testing.T (see [T]), while its
//     values still reach the SpecContext.
//   - Everything with channels or timers (servers, transports, contexts) must
//     be created and closed inside the same bubble. [New] does this when given
//     the body's context; its cleanup runs inside the bubble. Objects built in
//     a BeforeEach cannot be used in a VirtualTime It (each node has its own
//     bubble); [Fixture] reports that mistake with a clear failure.
//   - Ginkgo's DeferCleanup callbacks registered inside the body run after
//     the bubble has ended; register cleanup of objects of the bubble with
//     [DeferCleanup], which runs it at the end of the body, inside the
//     bubble, where a failed Expect fails the spec.
//   - SpecTimeout and NodeTimeout stay in real time.
//   - Goroutines started by the body must call defer GinkgoRecover() as usual.
//
// A failed Expect fails the spec; a data race or a t.Error through the
// bubble's *testing.T fails it too; a deadlocked bubble (every goroutine
// blocked with no timer pending) fails it with the blocked goroutines'
// stacks instead of crashing the process.
var VirtualTime = ginkgo.AroundNode(runInBubble)

// activeBubble is the bubble of the node running in this process (Ginkgo
// runs nodes one at a time per process), or nil.
var activeBubble atomic.Pointer[bubble]

func runInBubble(ctx context.Context, body func(context.Context)) {
	defer ginkgo.GinkgoRecover()
	t := suiteT.Load()
	if t == nil {
		// The body is still called so Ginkgo does not add a second failure.
		ginkgo.Fail("apitest.VirtualTime needs the suite to be started with apitest.RunSpecs(t, ...) instead of ginkgo.RunSpecs")
		return
	}
	report := ginkgo.CurrentSpecReport()
	name := report.FullText()
	if name == "" {
		name = "virtual time"
	}

	var failure string
	ran := false
	ok := t.Run(name, func(t *testing.T) {
		defer func() {
			if r := recover(); r != nil {
				failure = describeBubblePanic(r)
			}
		}()
		synctest.Test(t, func(t *testing.T) {
			defer ginkgo.GinkgoRecover()
			b := &bubble{t: t, virtual: true, ginkgo: true}
			activeBubble.Store(b)
			defer func() {
				activeBubble.CompareAndSwap(b, nil)
			}()
			defer b.runCleanups()
			bctx := specBubbleContext{
				bubbleCtx: context.WithValue(t.Context(), bubbleKey{}, b),
				spec:      ctx,
			}
			ran = true
			body(bctx)
		})
	})
	if !ran && failure == "" {
		ginkgo.Fail(fmt.Sprintf("apitest.VirtualTime: the spec's subtest %q did not run, so neither did the spec: go test's -run or -skip excluded it. "+
			"Select specs with -ginkgo.focus instead (or -run '^%s$')", t.Name()+"/"+name, t.Name()))
	}
	if failure != "" {
		ginkgo.Fail(failure)
	}
	if !ok && failure == "" {
		ginkgo.Fail(fmt.Sprintf("apitest.VirtualTime: the spec's bubble failed its *testing.T (a data race, or t.Error/t.Fatal inside the bubble); see subtest %q in the go test output", t.Name()+"/"+name))
	}
}

// describeBubblePanic turns a panic raised by synctest.Test in the calling
// goroutine (a deadlocked bubble) into a spec failure message naming the
// goroutines that were left blocked.
func describeBubblePanic(r any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apitest.VirtualTime: the spec's bubble failed: %v.\n", r)
	b.WriteString("Every goroutine in it was blocked with no timer pending, so virtual time could not advance. ")
	b.WriteString("Typical causes: a handler or responder that ignores the request context, a channel nobody sends on, ")
	b.WriteString("or an object created outside the bubble (e.g. in a BeforeEach without VirtualTime).\n")
	if stacks := bubbleStacks(); stacks != "" {
		b.WriteString("Blocked goroutines:\n")
		b.WriteString(stacks)
	}
	return b.String()
}

// bubbleStacks returns the stacks of goroutines that belong to a synctest
// bubble.
func bubbleStacks() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		if strings.Contains(header, "synctest") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

var _ types.AroundNodeDecorator = VirtualTime
