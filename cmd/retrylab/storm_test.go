package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestStormJSONOneConvention: the storm report mixed integer nanoseconds
// (_ns fields) with the duration strings of its policies and of run's
// report, and its configs said clients 0 although defaults were "filled
// in". Every duration is now a Go duration string, and the configs list
// the client counts simulated.
func TestStormJSONOneConvention(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		config    string
		durations map[string][]string // object key → its duration fields
	}{
		{"capacity", []string{"storm", "--clients", "20,40", "--timeouts", "--json"}, "capacity_config", map[string][]string{
			"capacity_config":  {"spread", "outage", "attempt_timeout", "latency"},
			"capacity_results": {"p50_success", "p99_success", "finished"},
		}},
		{"occ", []string{"storm", "--model", "occ", "--clients", "5,10", "--runs", "2", "--json"}, "occ_config", map[string][]string{
			"occ_config":  {"net_mean", "net_sd"},
			"occ_results": {"avg_completion"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := Main(t.Context(), tc.args, &stdout, &stderr); code != 0 {
				t.Fatalf("status %d: %s", code, stderr.String())
			}
			if strings.Contains(stdout.String(), `_ns"`) {
				t.Errorf("an _ns field is left:\n%s", stdout.String())
			}
			var rep map[string]any
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			if rep["schema"] != "retrylab.storm/v2" {
				t.Errorf("schema %v, want retrylab.storm/v2", rep["schema"])
			}
			cfg := rep[tc.config].(map[string]any)
			if clients, _ := json.Marshal(cfg["clients"]); string(clients) != "["+tc.args[clientsArg(tc.args)]+"]" {
				t.Errorf("%s.clients = %s, want the counts simulated", tc.config, clients)
			}
			for key, fields := range tc.durations {
				objs, ok := rep[key].([]any)
				if !ok {
					objs = []any{rep[key]}
				}
				for _, o := range objs {
					for _, f := range fields {
						s, ok := o.(map[string]any)[f].(string)
						if _, err := time.ParseDuration(s); !ok || err != nil {
							t.Errorf("%s.%s = %v, want a Go duration string", key, f, o.(map[string]any)[f])
						}
					}
				}
			}
		})
	}
}

// clientsArg returns the index of the value of --clients in args.
func clientsArg(args []string) int {
	for i, a := range args {
		if a == "--clients" {
			return i + 1
		}
	}
	return -1
}
