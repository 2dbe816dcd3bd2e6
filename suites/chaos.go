package suites

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"

	"github.com/retrylab/retrylab/apitest"
	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/internal/rules"
	"github.com/retrylab/retrylab/retryclient"
)

// ReplaySeedEnv names the environment variable that makes RetryChaos run
// only the sequence of the given seed, to replay a failure.
const ReplaySeedEnv = "RETRYLAB_CHAOS_SEED"

// ChaosOption configures RetryChaos; options are applied once, when the
// container is registered.
type ChaosOption func(*chaosConfig)

type chaosConfig struct {
	sequences int
	seed      uint64
}

// Sequences sets how many random sequences RetryChaos runs (default 40).
func Sequences(n int) ChaosOption { return func(c *chaosConfig) { c.sequences = n } }

// Seed sets the seed of the first sequence; sequence i uses seed+i
// (default 1).
func Seed(seed uint64) ChaosOption { return func(c *chaosConfig) { c.seed = seed } }

// RetryChaos registers a Ginkgo container with one virtual-time spec per
// seeded random fault sequence: a request (GET, keyed POST or unkeyed POST)
// meets a script of transient failures (those of 500, 502, 503, 504, 408
// and 429 with Retry-After that the Promise says the client retries, see
// Promise.RetriedStatuses, and any other status it lists; resets, empty
// replies, hangs when an attempt timeout is promised) that ends in a
// success or a permanent error. Every sequence is
// checked against the same invariants as RetryConformance (see CheckChaos).
// A failing spec prints its seed and the command that replays it alone. The
// suite must be started with apitest.RunSpecs.
func RetryChaos(name string, subject func() Subject, opts ...ChaosOption) bool {
	cfg := chaosConfig{sequences: 40, seed: 1}
	for _, o := range opts {
		o(&cfg)
	}
	var problem string
	var seeds []uint64
	if cfg.sequences < 1 {
		problem = fmt.Sprintf("suites.RetryChaos: Sequences(%d): want at least 1", cfg.sequences)
	}
	for i := range max(cfg.sequences, 0) {
		seeds = append(seeds, cfg.seed+uint64(i))
	}
	if v := os.Getenv(ReplaySeedEnv); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			problem = fmt.Sprintf("suites.RetryChaos: %s=%q is not a seed (a whole number)", ReplaySeedEnv, v)
		}
		seeds = []uint64{seed}
	}
	return ginkgo.Describe("retry chaos: "+name, func() {
		if problem != "" {
			ginkgo.It("is configured", func() { ginkgo.Fail(problem) })
			return
		}
		for _, seed := range seeds {
			ginkgo.It(fmt.Sprintf("sequence %d", seed), apitest.VirtualTime, func(ctx context.Context) {
				s := subject()
				if s.Client == nil {
					ginkgo.Fail("suites.RetryChaos: the Subject has no Client function")
				}
				if err := CheckChaos(ctx, s, seed); err != nil {
					ginkgo.Fail(fmt.Sprintf("%v\n\nreplay this sequence alone with:\n  %s=%d go test . -ginkgo.focus %q",
						err, ReplaySeedEnv, seed, regexp.QuoteMeta("retry chaos: "+name)+" sequence "+strconv.FormatUint(seed, 10)+"$"))
				}
			})
		}
	})
}

// chaosStep is one scripted answer of a sequence.
type chaosStep struct {
	word       string
	build      func() faultinject.StepBuilder
	retryable  bool // a retrying client may try again after it
	terminal   bool // the script ends here
	retryAfter bool
	raWait     time.Duration
	// why says, for a failure message, why the suite counts a transient
	// step transient.
	why string
}

// chaosVocabulary returns the steps a script is drawn from. Transient
// statuses are those the Promise says the client retries, in a fixed order
// (so the same seed gives the same script), then any it adds beyond the
// RFC-transient set.
func chaosVocabulary(p Promise) (transient, final []chaosStep) {
	status := func(code int) func() faultinject.StepBuilder {
		return func() faultinject.StepBuilder { return faultinject.Status(code) }
	}
	retried := func(code int, st chaosStep) {
		if p.retries(code) {
			st.retryable, st.why = true, p.retriedWhy(code)
			transient = append(transient, st)
		}
	}
	for _, code := range []int{500, 502, 503, 504, 408} {
		retried(code, chaosStep{word: strconv.Itoa(code), build: status(code)})
	}
	retried(429, chaosStep{word: "429+Retry-After:1", build: func() faultinject.StepBuilder { return faultinject.Status(429).RetryAfter(time.Second) }, retryAfter: true, raWait: time.Second})
	retried(503, chaosStep{word: "503+Retry-After:2", build: func() faultinject.StepBuilder { return faultinject.Status(503).RetryAfter(2 * time.Second) }, retryAfter: true, raWait: 2 * time.Second})
	transient = append(transient,
		chaosStep{word: "reset", build: faultinject.Reset, retryable: true,
			why: "a connection reset before any answer is transient: the request may never have reached the server"},
		chaosStep{word: "empty", build: faultinject.Empty, retryable: true,
			why: "a connection closed without a byte of answer is transient, like a reset"},
	)
	if p.AttemptTimeout > 0 {
		transient = append(transient, chaosStep{word: "hang", build: faultinject.Hang, retryable: true,
			why: fmt.Sprintf("the Promise's AttemptTimeout of %v abandons an attempt that gets no answer, and retries it", p.AttemptTimeout)})
	}
	rfc := retryclient.DefaultPolicy().RetryStatuses
	for _, code := range p.RetriedStatuses {
		if !slices.Contains(rfc, code) {
			retried(code, chaosStep{word: strconv.Itoa(code), build: status(code)})
		}
	}
	final = []chaosStep{
		{word: "200", build: status(200), terminal: true},
		{word: "201", build: status(201), terminal: true},
		{word: "400", build: status(400), terminal: true},
		{word: "404", build: status(404), terminal: true},
		{word: "422", build: status(422), terminal: true},
		{word: "501", build: status(501), terminal: true},
	}
	return transient, final
}

// CheckChaos runs the random sequence of the given seed against the subject
// and checks the invariants: never more attempts than promised, and, when
// the script turns to a success or a permanent error within the promised
// attempts, exactly the calls needed to reach it; no retry of an unkeyed
// POST; no call after a final answer; a wait before every retry;
// Retry-After honoured when promised; the same body and Idempotency-Key on
// every attempt; every discarded response closed. A client that stops
// early is told which step of the script it did not retry and why the
// suite counts that step transient. Like the rules, it must run inside a
// testing/synctest bubble, with a context of that bubble (see [Rule]).
func CheckChaos(ctx context.Context, subj Subject, seed uint64) error {
	if err := subj.Promise.Validate(); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 0xc4a05))
	p := subj.Promise
	transient, final := chaosVocabulary(p)
	limit := p.MaxAttempts
	if limit == 0 {
		limit = 3
	}
	n := rng.IntN(limit + 2) // transient steps before the final one
	var steps []chaosStep
	for range n {
		steps = append(steps, transient[rng.IntN(len(transient))])
	}
	steps = append(steps, final[rng.IntN(len(final))])

	method, path := "GET", "/items/7"
	var body []byte
	header := http.Header{}
	switch rng.IntN(3) {
	case 1:
		method, body = "POST", []byte(fmt.Sprintf(`{"sequence": %d}`, seed))
		header.Set("Idempotency-Key", fmt.Sprintf("chaos-%d", seed))
	case 2:
		method, body = "POST", []byte(fmt.Sprintf(`{"sequence": %d}`, seed))
	}
	words := make([]string, len(steps))
	builders := make([]faultinject.StepBuilder, len(steps))
	for i, st := range steps {
		words[i], builders[i] = st.word, st.build()
	}
	name := fmt.Sprintf("chaos-%d", seed)
	s := faultinject.NewScenario(name).Seed(int64(seed)).Route(method+" /items/{id}", builders...).ThenStatus(418).MustBuild()
	desc := fmt.Sprintf("%s %s, key %q, script [%s]", method, path, header.Get("Idempotency-Key"), strings.Join(words, " "))

	cctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	x, calls := send(cctx, subj, s, method, path, body, header)
	fail := func(format string, args ...any) error {
		return violation("chaos invariants", name, calls, "%s: %s", desc, fmt.Sprintf(format, args...))
	}

	if p.MaxAttempts > 0 && len(calls) > p.MaxAttempts {
		return fail("%d attempts, more than the promised %d", len(calls), p.MaxAttempts)
	}
	for i, c := range calls {
		if c.Status == 418 {
			return fail("call #%d came after the script's final answer", c.Seq)
		}
		if i < len(steps) && steps[i].terminal && i+1 < len(calls) {
			return fail("call #%d followed a final %s", calls[i+1].Seq, steps[i].word)
		}
	}
	unkeyedPost := method == "POST" && header.Get("Idempotency-Key") == ""
	if unkeyedPost && len(calls) > 1 {
		return fail("a POST without Idempotency-Key was sent %d times", len(calls))
	}
	// With a promise of attempts, a script whose final answer comes within
	// them must be played to the end.
	// A promised elapsed-time limit or a Retry-After cap below a scripted
	// Retry-After may end the retries early: then only the upper bounds hold.
	capped := p.MaxElapsed > 0
	for _, st := range steps {
		if st.retryAfter && p.RetryAfterCap > 0 && st.raWait > p.RetryAfterCap {
			capped = true
		}
	}
	retriesPromised := p.MaxAttempts > 0 && !unkeyedPost && (method == "GET" || p.IdempotencyKeys) && !capped
	if retriesPromised && len(steps) <= p.MaxAttempts && len(calls) != len(steps) {
		if k := len(calls); k > 0 && k < len(steps) {
			st := steps[k-1]
			return fail("the client stopped after call #%d, which met step %d of the script (%s), and did not retry it (it returned %s); "+
				"the suite counts %s transient because %s; the final answer was reachable in %d of the promised %d attempts",
				calls[k-1].Seq, k, st.word, returned(x), st.word, st.why, len(steps), p.MaxAttempts)
		}
		return fail("%d calls; the final answer was reachable in %d of the promised %d attempts", len(calls), len(steps), p.MaxAttempts)
	}
	waits, _ := rules.Waits(calls)
	for i, w := range waits {
		if w <= 0 {
			return fail("call #%d came without a pause after call #%d", i+2, i+1)
		}
	}
	if p.honoursRetryAfter() {
		if err := rules.HonoredRetryAfter(calls, 0); err != nil {
			return fail("%v", err)
		}
	}
	if err := rules.SameBody(calls); err != nil {
		return fail("%v", err)
	}
	if header.Get("Idempotency-Key") != "" {
		if err := rules.SameIdempotencyKey(calls); err != nil {
			return fail("%v", err)
		}
	}
	if x.leaked > 0 {
		return fail("%d of %d responses were never closed", x.leaked, x.responses)
	}
	return nil
}

// returned says what the client returned, for messages.
func returned(x *exchange) string {
	if x.err != nil {
		return fmt.Sprintf("the error %q", x.err)
	}
	return fmt.Sprintf("status %d", x.status)
}
