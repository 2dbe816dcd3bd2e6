package apitest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
)

type bubbleKey struct{}

// bubble describes one testing/synctest bubble run by VirtualTime or opened
// with Context.
type bubble struct {
	mu       sync.Mutex
	cleanups []func()

	t       *testing.T
	virtual bool // a testing/synctest bubble (false: a plain test in real time)
	ginkgo  bool // run by VirtualTime inside a Ginkgo spec

	entries []reportEntry // report entries added inside the bubble, for VirtualTime to add when it ends
}

// reportEntry is a Ginkgo report entry added inside a VirtualTime bubble.
// Ginkgo stamps an entry with time.Now(), which inside a bubble is the fake
// clock (2000-01-01 plus the virtual time elapsed), so such entries would
// sort wrongly against the rest of the report; VirtualTime adds them when the
// bubble has ended, with wall-clock time, and the text says when they
// happened in virtual time.
type reportEntry struct {
	name    string
	where   types.CodeLocation
	value   string
	virtual time.Duration // virtual time elapsed in the bubble when it was added
}

// addReportEntry adds a Ginkgo report entry, visible when the spec fails or
// with -v, located at where: at once in real time, at the end of the bubble
// (see reportEntry) when b is a VirtualTime bubble.
func addReportEntry(b *bubble, name string, where types.CodeLocation, value string) {
	if b == nil || !b.ginkgo {
		ginkgo.AddReportEntry(name, ginkgo.ReportEntryVisibilityFailureOrVerbose, where, value)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.entries = append(b.entries, reportEntry{name: name, where: where, value: value, virtual: time.Since(bubbleEpoch)})
}

// bubbleEpoch is where the fake clock of every testing/synctest bubble
// starts.
var bubbleEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// addReportEntries adds the report entries of an ended bubble, stamped with
// the wall clock.
func (b *bubble) addReportEntries() {
	b.mu.Lock()
	entries := b.entries
	b.entries = nil
	b.mu.Unlock()
	now := time.Now()
	for _, e := range entries {
		ginkgo.AddReportEntry(e.name, ginkgo.ReportEntryVisibilityFailureOrVerbose, e.where, now,
			fmt.Sprintf("%s\n(offsets are virtual time; this entry was added at +%s of it)", e.value, e.virtual))
	}
}

// Context returns a context for plain go test users: it is t.Context() and
// carries t, so [New] registers its cleanup with t.Cleanup and reports
// misuse through t. Inside a bubble opened with synctest.Test it gives
// virtual time, with cleanup running inside the bubble:
//
//	synctest.Test(t, func(t *testing.T) {
//		fx := apitest.New(apitest.Context(t), scenario)
//		...
//	})
func Context(t *testing.T) context.Context {
	return context.WithValue(t.Context(), bubbleKey{}, &bubble{t: t, virtual: inBubble()})
}

// inBubble reports whether the calling goroutine runs inside a
// testing/synctest bubble, whose fake clock starts at midnight UTC on
// 2000-01-01; a real clock is decades past that.
func inBubble() bool {
	return time.Now().Before(bubbleEpoch.AddDate(1, 0, 0))
}

// bubbleFrom returns the bubble ctx belongs to, or nil.
func bubbleFrom(ctx context.Context) *bubble {
	if ctx == nil {
		return nil
	}
	b, _ := ctx.Value(bubbleKey{}).(*bubble)
	return b
}

// T returns the bubble's *testing.T carried by a context that VirtualTime
// handed to a spec body (or that Context made), and false when ctx carries
// none.
func T(ctx context.Context) (*testing.T, bool) {
	if b := bubbleFrom(ctx); b != nil {
		return b.t, true
	}
	return nil, false
}

// specBubbleContext is the context a VirtualTime body receives: Done, Err and
// Deadline are the bubble's (so timers and cancellation stay in virtual time),
// while Value also reaches the Ginkgo SpecContext so Ginkgo and Gomega still
// find it.
type specBubbleContext struct {
	bubbleCtx context.Context // t.Context() of the bubble, carrying bubbleKey
	spec      context.Context
}

func (c specBubbleContext) Deadline() (time.Time, bool) { return c.bubbleCtx.Deadline() }
func (c specBubbleContext) Done() <-chan struct{}       { return c.bubbleCtx.Done() }
func (c specBubbleContext) Err() error                  { return c.bubbleCtx.Err() }

func (c specBubbleContext) Value(key any) any {
	if v := c.bubbleCtx.Value(key); v != nil {
		return v
	}
	return c.spec.Value(key)
}

func (c specBubbleContext) String() string { return "apitest.VirtualTime context" }

// DeferCleanup registers f to run when the node or test that ctx belongs to
// ends, last registered first:
//   - in an apitest.VirtualTime node, at the end of the node's body, inside
//     its bubble (so f may close servers and timers of the bubble), where a
//     failed Expect fails the spec;
//   - with a context from [Context], through t.Cleanup;
//   - otherwise through Ginkgo's DeferCleanup.
func DeferCleanup(ctx context.Context, f func()) {
	b := bubbleFrom(ctx)
	switch {
	case b == nil:
		ginkgo.DeferCleanup(f)
	case b.ginkgo:
		b.mu.Lock()
		b.cleanups = append(b.cleanups, f)
		b.mu.Unlock()
	default:
		b.t.Cleanup(f)
	}
}

// runCleanups runs the bubble's cleanups, last first, each under
// GinkgoRecover so a failure in one fails the spec and the others still run.
func (b *bubble) runCleanups() {
	for {
		b.mu.Lock()
		n := len(b.cleanups)
		if n == 0 {
			b.mu.Unlock()
			return
		}
		f := b.cleanups[n-1]
		b.cleanups = b.cleanups[:n-1]
		b.mu.Unlock()
		func() {
			defer ginkgo.GinkgoRecover()
			f()
		}()
	}
}
