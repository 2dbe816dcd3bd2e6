package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/retrylab/retrylab/internal/storm"
	"github.com/retrylab/retrylab/retryclient"
)

const stormExamples = `  retrylab storm                                   # capacity model, 1000 clients, default contenders
  retrylab storm --clients 100,1000,10000 --svg storm.svg
  retrylab storm --outage 10s --timeouts --capacity 500 --json
  retrylab storm --policy mine.yaml --policy theirs.yaml
  retrylab storm --model occ --clients 50,100,190 --runs 100   # the 2015 backoff-and-jitter setup
`

// stormReport is the --json output of storm: schema "retrylab.storm/v1",
// documented in docs/storm.md. Durations are integer nanoseconds (fields
// ending in _ns).
type stormReport struct {
	Schema     string                 `json:"schema"`
	Model      string                 `json:"model"`
	Seed       uint64                 `json:"seed"`
	Contenders []storm.Contender      `json:"contenders"`
	Capacity   *storm.CapacityConfig  `json:"capacity_config,omitempty"`
	OCC        *storm.OCCConfig       `json:"occ_config,omitempty"`
	Results    []storm.CapacityResult `json:"capacity_results,omitempty"`
	OCCRes     []storm.OCCResult      `json:"occ_results,omitempty"`
}

func cmdStorm(ctx context.Context, args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("storm", "[--model capacity|occ] [flags]", stormExamples, stdout)
	model := fs.String("model", "capacity", "simulation model: capacity (an outage, then limited capacity) or occ (optimistic concurrency on one row)")
	clientsFlag := fs.String("clients", "", "comma-separated client counts (default 1000 for capacity, 50,100,190 for occ)")
	capacity := fs.Float64("capacity", 200, "capacity model: requests per second the server completes after the outage")
	outage := fs.Duration("outage", 3*time.Second, "capacity model: how long every request fails")
	timeouts := fs.Bool("timeouts", false, "capacity model: requests hang until the attempt timeout during the outage instead of failing with 503")
	spread := fs.Duration("spread", time.Second, "capacity model: window over which clients start")
	runs := fs.Int("runs", 100, "occ model: runs averaged per point")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same numbers")
	var policies []string
	fs.Func("policy", "policy YAML file to simulate (repeatable); default: built-in contenders", func(s string) error {
		policies = append(policies, s)
		return nil
	})
	asJSON := fs.Bool("json", false, "print the results as JSON")
	svgFile := fs.String("svg", "", "also write a chart (amplification or calls against clients) to this SVG file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *model != "capacity" && *model != "occ" {
		return usagef("unknown model %q (models: capacity, occ)", *model)
	}
	defClients := "1000"
	if *model == "occ" {
		defClients = "50,100,190"
	}
	if *clientsFlag == "" {
		*clientsFlag = defClients
	}
	clients, err := parseInts(*clientsFlag)
	if err != nil {
		return err
	}
	contenders, err := stormContenders(*model, policies)
	if err != nil {
		return err
	}
	if *svgFile != "" {
		// Fail before the work, not after it.
		if err := writable(*svgFile); err != nil {
			return err
		}
	}

	rep := stormReport{Schema: "retrylab.storm/v1", Model: *model, Seed: *seed, Contenders: contenders}
	var ss []series
	switch *model {
	case "capacity":
		cfg := storm.CapacityConfig{Capacity: *capacity, Outage: *outage, OutageTimeouts: *timeouts, Spread: *spread, Seed: *seed}.WithDefaults()
		rep.Capacity = &cfg
		for _, ct := range contenders {
			s := series{name: ct.Name}
			for _, n := range clients {
				c := cfg
				c.Clients = n
				r, err := storm.RunCapacity(ctx, c, ct)
				if err != nil {
					return stormError(err)
				}
				rep.Results = append(rep.Results, r)
				s.points = append(s.points, [2]float64{float64(n), r.Amplification})
			}
			ss = append(ss, s)
		}
	case "occ":
		cfg := storm.OCCConfig{Runs: *runs, Seed: *seed}.WithDefaults()
		rep.OCC = &cfg
		for _, ct := range contenders {
			s := series{name: ct.Name}
			for _, n := range clients {
				c := cfg
				c.Clients = n
				r, err := storm.RunOCC(ctx, c, ct)
				if err != nil {
					return stormError(err)
				}
				rep.OCCRes = append(rep.OCCRes, r)
				s.points = append(s.points, [2]float64{float64(n), r.Calls})
			}
			ss = append(ss, s)
		}
	}

	if *svgFile != "" {
		title, ylabel := "Retry amplification during an outage", "calls per logical request"
		if *model == "occ" {
			title, ylabel = "Work under optimistic concurrency", "average calls per run"
		}
		if err := writeFile(*svgFile, func(w io.Writer) error { return lineChart(w, title, "clients", ylabel, ss) }); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	if *model == "capacity" {
		mode := "503"
		if *timeouts {
			mode = "timeouts"
		}
		fmt.Fprintf(stdout, "capacity model: %v outage (%s), then %v req/s; clients start within %v; one-way latency %v; seed %d\n",
			*outage, mode, *capacity, *spread, rep.Capacity.Latency, *seed)
		fmt.Fprintf(stdout, "p50/p99: time to success of the requests that succeeded\n\n")
		fmt.Fprintln(tw, "policy\tclients\tcalls\tamplification\tsuccess\tp50\tp99\tpeak req/s\tgave up\t")
		for _, r := range rep.Results {
			gaveUp := 0
			for _, n := range r.GaveUp {
				gaveUp += n
			}
			p50, p99 := "-", "-"
			if r.SuccessRate > 0 {
				p50, p99 = r.P50.Round(time.Millisecond).String(), r.P99.Round(time.Millisecond).String()
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%.1f%%\t%s\t%s\t%d\t%d\t\n", r.Policy, r.Clients, r.Calls, r.Amplification,
				100*r.SuccessRate, p50, p99, r.PeakLoad, gaveUp)
		}
	} else {
		fmt.Fprintf(stdout, "occ model: one row, network delay |N(%v, %v)|, %d runs per point; seed %d\n", rep.OCC.NetMean, rep.OCC.NetSD, rep.OCC.Runs, *seed)
		if len(policies) == 0 {
			fmt.Fprintf(stdout, "contenders: exponential backoff from 5ms capped at 2s with each jitter kind, and no backoff\n")
		}
		fmt.Fprintln(stdout)
		fmt.Fprintln(tw, "policy\tclients\tavg calls\tavg completion\tunwritten\t")
		for _, r := range rep.OCCRes {
			fmt.Fprintf(tw, "%s\t%d\t%.1f\t%v\t%.1f\t\n", r.Policy, r.Clients, r.Calls, r.Time.Round(time.Millisecond), r.Unwritten)
		}
	}
	return tw.Flush()
}

// stormContenders returns the policies to simulate: the files given, or the
// built-in set for the model.
func stormContenders(model string, files []string) ([]storm.Contender, error) {
	if len(files) == 0 {
		if model == "occ" {
			return storm.OCCContenders(), nil
		}
		return storm.CapacityContenders(), nil
	}
	var out []storm.Contender
	for _, f := range files {
		p, err := loadPolicy(f)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		if model == "occ" {
			p = storm.ForOCC(p) // a conflict is a 409
		}
		out = append(out, storm.Contender{Name: name, Policy: p})
	}
	return out, nil
}

// loadPolicy reads a policy YAML file, strictly.
func loadPolicy(path string) (retryclient.Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return retryclient.Policy{}, usagef("cannot read policy: %v", err)
	}
	p, err := retryclient.ParsePolicy(path, data)
	if err != nil {
		return retryclient.Policy{}, usageError{err.Error()}
	}
	return p, nil
}

// stormError turns a simulation error into the command's error: an
// interruption is a failure, anything else is bad input.
func stormError(err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted")
	}
	return usageError{strings.TrimPrefix(err.Error(), "storm: ")}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > storm.MaxClients {
			return nil, usagef("--clients: %q is not a whole number between 1 and %d", strings.TrimSpace(f), storm.MaxClients)
		}
		out = append(out, n)
	}
	return out, nil
}
