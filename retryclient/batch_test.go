package retryclient_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

// bulkAPI is a scripted bulk endpoint: fails[item] lists the errors the
// item gets in its first rounds; it records what each round sent.
type bulkAPI struct {
	mu     sync.Mutex
	fails  map[string][]error
	rounds [][]string
	at     []time.Duration
	start  time.Time
}

func (b *bulkAPI) call(ctx context.Context, pending []string) ([]string, []error, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rounds = append(b.rounds, slices.Clone(pending))
	b.at = append(b.at, time.Since(b.start))
	values := make([]string, len(pending))
	errs := make([]error, len(pending))
	for j, item := range pending {
		if f := b.fails[item]; len(f) > 0 {
			errs[j], b.fails[item] = f[0], f[1:]
			continue
		}
		values[j] = strings.ToUpper(item)
	}
	return values, errs, nil
}

func TestDoBatchRetriesOnlyTheFailedItems(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		transient := retryclient.Transient(errUnavailable)
		api := &bulkAPI{start: time.Now(), fails: map[string][]error{
			"b": {transient, transient},
			"d": {retryclient.Permanent(errors.New("invalid item"))},
			"e": {&retryclient.StatusError{Status: 429, RetryAfter: 5 * time.Second}},
		}}
		r := retryclient.NewRetrier(constant())
		res, err := retryclient.DoBatch(t.Context(), r, "bulk-insert", []string{"a", "b", "c", "d", "e"}, api.call)
		if err != nil {
			t.Fatal(err)
		}
		wantRounds := [][]string{{"a", "b", "c", "d", "e"}, {"b", "e"}, {"b"}}
		if !slices.EqualFunc(api.rounds, wantRounds, slices.Equal) {
			t.Errorf("rounds sent %q; want %q", api.rounds, wantRounds)
		}
		// The 429's Retry-After (5s) holds for the whole second round; then
		// the backoff (1s).
		if want := []time.Duration{0, 5 * time.Second, 6 * time.Second}; !slices.Equal(api.at, want) {
			t.Errorf("rounds started at %v; want %v", api.at, want)
		}
		for i, want := range []struct {
			value    string
			attempts int
			err      string
		}{{"A", 1, ""}, {"B", 3, ""}, {"C", 1, ""}, {"", 1, "invalid item"}, {"E", 2, ""}} {
			got := res[i]
			if got.Value != want.value || got.Attempts != want.attempts || (got.Err == nil) != (want.err == "") ||
				got.Err != nil && got.Err.Error() != want.err {
				t.Errorf("item %d = %+v; want value %q after %d attempts, error %q", i, got, want.value, want.attempts, want.err)
			}
		}
	})
}

func TestDoBatchGivesUpOnItemsItCannotFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		always := slices.Repeat([]error{retryclient.Transient(errUnavailable)}, 10)
		api := &bulkAPI{start: time.Now(), fails: map[string][]error{"x": always}}
		res, err := retryclient.DoBatch(t.Context(), retryclient.NewRetrier(constant()), "bulk", []string{"x", "y"}, api.call)
		if err != nil {
			t.Fatal(err)
		}
		var gu *retryclient.GiveUpError
		if !errors.As(res[0].Err, &gu) || gu.Reason != retryclient.ReasonMaxAttempts || gu.Attempts != 3 || !errors.Is(res[0].Err, errUnavailable) {
			t.Errorf("item x: %+v; want a max-attempts GiveUpError after 3 attempts wrapping its error", res[0])
		}
		if res[1].Err != nil || res[1].Value != "Y" || res[1].Attempts != 1 {
			t.Errorf("item y: %+v; want Y after 1 attempt", res[1])
		}
	})
}

func TestDoBatchRoundErrorRetriesEveryPendingItem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rounds := 0
		call := func(ctx context.Context, pending []int) ([]int, []error, error) {
			rounds++
			if rounds == 1 {
				return nil, nil, retryclient.Transient(errors.New("bulk endpoint unavailable"))
			}
			out := make([]int, len(pending))
			for j, v := range pending {
				out[j] = v * 10
			}
			return out, nil, nil
		}
		res, err := retryclient.DoBatch(t.Context(), retryclient.NewRetrier(constant()), "bulk", []int{1, 2}, call)
		if err != nil || res[0].Value != 10 || res[1].Value != 20 || res[0].Attempts != 2 || rounds != 2 {
			t.Errorf("DoBatch = %+v, %v after %d rounds; want both values after 2 rounds", res, err, rounds)
		}
	})
}

func TestDoBatchStopsWhenTheCallerCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(500*time.Millisecond, cancel)
		api := &bulkAPI{start: time.Now(), fails: map[string][]error{"a": {retryclient.Transient(errUnavailable)}}}
		res, err := retryclient.DoBatch(ctx, retryclient.NewRetrier(constant()), "bulk", []string{"a", "b"}, api.call)
		if !errors.Is(err, context.Canceled) || !errors.Is(res[0].Err, context.Canceled) || res[1].Value != "B" {
			t.Errorf("DoBatch = %+v, %v; want context.Canceled for the pending item and B kept", res, err)
		}
		if time.Since(api.start) != 500*time.Millisecond {
			t.Errorf("returned after %v; want at the cancel", time.Since(api.start))
		}
	})
}

func TestDoBatchRefusesAMalformedRound(t *testing.T) {
	call := func(ctx context.Context, pending []int) ([]int, []error, error) { return []int{1}, nil, nil }
	res, err := retryclient.DoBatch(context.Background(), retryclient.NewRetrier(constant()), "bulk", []int{1, 2}, call)
	if err != nil || res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "returned 1 values and 0 errors for 2 items") {
		t.Errorf("DoBatch = %+v, %v; want each item to fail with the malformed round's error", res, err)
	}
}

func TestEachItemSendsOneRequestPerItemConcurrently(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu    sync.Mutex
			tries = map[int]int{}
		)
		call := retryclient.EachItem(func(ctx context.Context, id int) (string, error) {
			mu.Lock()
			tries[id]++
			n := tries[id]
			mu.Unlock()
			time.Sleep(100 * time.Millisecond) // each request takes 100ms
			if id == 2 && n == 1 {
				return "", &retryclient.StatusError{Status: 503}
			}
			return "ok", nil
		})
		start := time.Now()
		res, err := retryclient.DoBatch(t.Context(), retryclient.NewRetrier(constant()), "get-users", []int{1, 2, 3}, call)
		if err != nil {
			t.Fatal(err)
		}
		// Round 1: three requests at once (100ms); backoff 1s; round 2: one.
		if took := time.Since(start); took != 1200*time.Millisecond {
			t.Errorf("took %v; want 1.2s (concurrent requests, one retry round)", took)
		}
		if tries[1] != 1 || tries[2] != 2 || tries[3] != 1 || res[1].Attempts != 2 || res[1].Value != "ok" {
			t.Errorf("tries %v, results %+v; want only item 2 retried", tries, res)
		}
	})
}
