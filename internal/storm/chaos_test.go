package storm

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

func TestChaosModel(t *testing.T) {
	ctx := context.Background()
	cfg := ChaosConfig{Sequences: 2000, Seed: 3}
	run := func(name string, p retryclient.Policy) ChaosResult {
		t.Helper()
		r, err := RunChaos(ctx, cfg, Contender{Name: name, Policy: p})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	def := retryclient.DefaultPolicy()
	noTimeout := run("no attempt timeout", def)
	withTimeout := run("2s attempt timeout", def.WithAttemptTimeout(2*time.Second))
	more := run("6 attempts", def.WithAttemptTimeout(2*time.Second).WithMaxAttempts(6))

	if again := run("2s attempt timeout", def.WithAttemptTimeout(2*time.Second)); !reflect.DeepEqual(again, withTimeout) {
		t.Errorf("the same seed gave different results:\n%+v\n%+v", withTimeout, again)
	}
	// A hang without an attempt timeout runs into the caller's deadline.
	if noTimeout.Ended["deadline"] == 0 || withTimeout.Ended["deadline"] >= noTimeout.Ended["deadline"] {
		t.Errorf("deadline failures: %d without an attempt timeout, %d with; want fewer with", noTimeout.Ended["deadline"], withTimeout.Ended["deadline"])
	}
	if withTimeout.SuccessRate <= noTimeout.SuccessRate {
		t.Errorf("success %.3f with an attempt timeout, %.3f without; want higher with", withTimeout.SuccessRate, noTimeout.SuccessRate)
	}
	// More attempts reach more of the reachable successes.
	if more.Missed >= withTimeout.Missed || more.SuccessRate <= withTimeout.SuccessRate {
		t.Errorf("6 attempts: missed %d, success %.3f; 3 attempts: missed %d, success %.3f; want fewer missed with more attempts",
			more.Missed, more.SuccessRate, withTimeout.Missed, withTimeout.SuccessRate)
	}
	// A permanent 400 is never retried, and a long Retry-After above the
	// 60s cap stops: both show up by reason.
	for _, reason := range []string{string(retryclient.ReasonNotRetryableStatus), string(retryclient.ReasonRetryAfterTooLong), string(retryclient.ReasonMaxAttempts)} {
		if withTimeout.Ended[reason] == 0 {
			t.Errorf("no request ended with %s: %v", reason, withTimeout.Ended)
		}
	}
	if withTimeout.AvgAttempts < 1 || withTimeout.AvgAttempts > 3 || withTimeout.P99 <= 0 || withTimeout.P99 > 30*time.Second {
		t.Errorf("avg attempts %.2f, p99 %v; want within [1, 3] and (0, 30s]", withTimeout.AvgAttempts, withTimeout.P99)
	}
}

func TestChaosModelRejectsBadConfig(t *testing.T) {
	for _, cfg := range []ChaosConfig{{Sequences: -1}, {Sequences: MaxChaosSequences + 1}, {Deadline: -time.Second}, {Latency: -1}} {
		if _, err := RunChaos(context.Background(), cfg, Contender{Policy: retryclient.DefaultPolicy()}); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}
