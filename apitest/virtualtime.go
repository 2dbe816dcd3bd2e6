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
// [RunSpecs]. A spec with VirtualTime nodes is a subtest of the suite's
// *testing.T, named after the spec's full text, that passes, fails or is
// skipped as the spec did (so go test -v and -json, and the tools built on
// them, show each spec's result); each decorated node of the spec runs in that
// subtest, in a bubble of its own. A spec whose subtest go test's -run or -skip
// excludes is skipped, with the reason; select specs with -ginkgo.focus to
// filter without subtests. Report entries added in a bubble (the fixture's
// timeline) are added when the bubble ends, stamped with the wall clock; their
// text gives virtual times.
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

// currentSpec is the subtest of the spec running in this process, from its
// first VirtualTime node until the spec's report (see endSpecRun).
var currentSpec atomic.Pointer[specRun]

// specRun is the subtest of the suite's *testing.T that stands for one spec
// in go test's output (-v, -json): it runs the spec's VirtualTime nodes, each
// in its own bubble, and once the spec has ended it passes, fails or skips
// as the spec did, so CI test views show what Ginkgo reports.
type specRun struct {
	name    string // the subtest's full name, for messages
	nodes   chan func(*testing.T)
	end     chan types.SpecReport // the spec's final report (buffered)
	done    chan struct{}         // closed when the subtest has returned
	started bool                  // false: go test's -run or -skip excluded the subtest
	busy    atomic.Bool           // a node is running in the subtest
}

// startSpecRun starts the subtest named name of t in a goroutine of its own
// (t.Run blocks until the subtest ends, which is only after the spec's last
// node) and reports whether go test let it run.
func startSpecRun(t *testing.T, name string) *specRun {
	sr := &specRun{
		name:  t.Name() + "/" + name,
		nodes: make(chan func(*testing.T)),
		end:   make(chan types.SpecReport, 1),
		done:  make(chan struct{}),
	}
	started := make(chan bool, 1)
	go func() {
		defer close(sr.done)
		ran := false
		t.Run(name, func(st *testing.T) {
			ran = true
			sr.name = st.Name()
			started <- true
			for {
				select {
				case f := <-sr.nodes:
					f(st)
				case r := <-sr.end:
					finishSpec(st, r)
					return
				}
			}
		})
		if !ran {
			started <- false
		}
	}()
	sr.started = <-started
	return sr
}

// run runs f in the subtest and waits for it.
func (sr *specRun) run(f func(*testing.T)) {
	sr.busy.Store(true)
	defer sr.busy.Store(false)
	finished := make(chan struct{})
	sr.nodes <- func(st *testing.T) {
		defer close(finished)
		f(st)
	}
	<-finished
}

// finish ends the subtest with the spec's report and waits for it to return,
// unless a node is still running in it (one that outlived a real-time
// SpecTimeout): then the subtest ends when that node returns.
func (sr *specRun) finish(r types.SpecReport) {
	if !sr.started {
		return
	}
	sr.end <- r
	if !sr.busy.Load() {
		<-sr.done
	}
}

// finishSpec makes st pass, fail or skip as the spec of report r did.
func finishSpec(st *testing.T, r types.SpecReport) {
	switch {
	case r.State.Is(types.SpecStateFailureStates):
		msg := r.Failure.Message
		if r.Failure.ForwardedPanic != "" {
			msg += ": " + r.Failure.ForwardedPanic
		}
		st.Errorf("the spec %s at %s: %s (Ginkgo's report has the details)", r.State, r.Failure.Location, firstLine(msg))
	case r.State.Is(types.SpecStateSkipped):
		st.Skipf("the spec was skipped at %s: %s", r.Failure.Location, firstLine(r.Failure.Message))
	}
}

// firstLine returns s up to its first line break.
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// endSpecRun is the suite's ReportAfterEach (registered by RunSpecs): it ends
// the subtest of the spec that just ended.
func endSpecRun(r types.SpecReport) {
	recordSpec(r)
	if sr := currentSpec.Swap(nil); sr != nil {
		sr.finish(r)
	}
}

func runInBubble(ctx context.Context, body func(context.Context)) {
	defer ginkgo.GinkgoRecover()
	t := suiteT.Load()
	if t == nil {
		// Ginkgo keeps this first failure; the body is not run.
		ginkgo.Fail("apitest.VirtualTime needs the suite to be started with apitest.RunSpecs(t, ...) instead of ginkgo.RunSpecs")
		return
	}
	report := ginkgo.CurrentSpecReport()
	sr := currentSpec.Load()
	if report.LeafNodeType.Is(types.NodeTypesForSuiteLevelNodes) {
		// BeforeSuite and friends belong to no spec: they get a subtest
		// of their own, ended as soon as the node returns.
		name := report.LeafNodeType.String()
		if report.LeafNodeText != "" {
			name += " " + report.LeafNodeText
		}
		sr = startSpecRun(t, name)
		defer sr.finish(types.SpecReport{})
		if !sr.started {
			// -run selects specs; the suite's setup still runs, in
			// a bubble of the suite's own *testing.T.
			runNode(ctx, body, func(f func(*testing.T)) { f(t) })
			return
		}
	} else if sr == nil {
		name := report.FullText()
		if name == "" {
			name = "virtual time"
		}
		sr = startSpecRun(t, name)
		currentSpec.Store(sr)
	}
	if !sr.started {
		ginkgo.Skip(fmt.Sprintf("apitest.VirtualTime: go test's -run or -skip excludes this spec's subtest %q, so the spec is skipped "+
			"(select specs with -ginkgo.focus to filter without subtests)", sr.name))
		return
	}
	runNode(ctx, body, sr.run)
}

// runNode runs body in a new bubble, through run, which calls its function
// with the *testing.T the bubble belongs to, and fails the spec when the
// bubble failed (a deadlock, or a failure of the bubble's *testing.T).
func runNode(ctx context.Context, body func(context.Context), run func(func(*testing.T))) {
	var failure string
	var b *bubble
	run(func(t *testing.T) {
		failedBefore := t.Failed()
		defer func() {
			if r := recover(); r != nil {
				failure = describeBubblePanic(r)
			} else if t.Failed() && !failedBefore {
				failure = fmt.Sprintf("apitest.VirtualTime: the spec's bubble failed its *testing.T (a data race, or t.Error/t.Fatal inside the bubble); see test %q in the go test output", t.Name())
			}
		}()
		synctest.Test(t, func(t *testing.T) {
			defer ginkgo.GinkgoRecover()
			b = &bubble{t: t, virtual: true, ginkgo: true}
			activeBubble.Store(b)
			defer func() {
				activeBubble.CompareAndSwap(b, nil)
			}()
			defer b.runCleanups()
			bctx := specBubbleContext{
				bubbleCtx: context.WithValue(t.Context(), bubbleKey{}, b),
				spec:      ctx,
			}
			body(bctx)
		})
	})
	if b != nil {
		b.addReportEntries()
	}
	if failure != "" {
		ginkgo.Fail(failure)
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
