package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
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

// stormSchema names the --json output of storm.
const stormSchema = "retrylab.storm/v2"

// stormReport is the --json output of storm: schema [stormSchema],
// documented in docs/storm.md. Durations are Go duration strings ("1.5s"),
// as in run's output and in policy files.
type stormReport struct {
	Schema     string               `json:"schema"`
	Model      string               `json:"model"`
	Seed       uint64               `json:"seed"`
	Contenders []storm.Contender    `json:"contenders"`
	Capacity   *capacityConfigJSON  `json:"capacity_config,omitempty"`
	OCC        *occConfigJSON       `json:"occ_config,omitempty"`
	Results    []capacityResultJSON `json:"capacity_results,omitempty"`
	OCCRes     []occResultJSON      `json:"occ_results,omitempty"`
}

// capacityConfigJSON is storm.CapacityConfig with its defaults filled in
// and every client count simulated.
type capacityConfigJSON struct {
	Clients        []int   `json:"clients"`
	Spread         string  `json:"spread"`
	Capacity       float64 `json:"capacity_per_s"`
	Outage         string  `json:"outage"`
	OutageTimeouts bool    `json:"outage_timeouts"`
	AttemptTimeout string  `json:"attempt_timeout"`
	Latency        string  `json:"latency"`
	Seed           uint64  `json:"seed"`
}

func capacityConfigOf(c storm.CapacityConfig, clients []int) *capacityConfigJSON {
	return &capacityConfigJSON{Clients: clients, Spread: c.Spread.String(), Capacity: c.Capacity, Outage: c.Outage.String(),
		OutageTimeouts: c.OutageTimeouts, AttemptTimeout: c.AttemptTimeout.String(), Latency: c.Latency.String(), Seed: c.Seed}
}

type capacityResultJSON struct {
	Policy        string         `json:"policy"`
	Clients       int            `json:"clients"`
	Calls         int            `json:"calls"`
	Amplification float64        `json:"amplification"`
	SuccessRate   float64        `json:"success_rate"`
	P50           string         `json:"p50_success"`
	P99           string         `json:"p99_success"`
	Finished      string         `json:"finished"`
	PeakLoad      int            `json:"peak_load_per_s"`
	GaveUp        map[string]int `json:"gave_up"`
}

func capacityResultOf(r storm.CapacityResult) capacityResultJSON {
	return capacityResultJSON{Policy: r.Policy, Clients: r.Clients, Calls: r.Calls, Amplification: r.Amplification,
		SuccessRate: r.SuccessRate, P50: r.P50.String(), P99: r.P99.String(), Finished: r.Finished.String(),
		PeakLoad: r.PeakLoad, GaveUp: r.GaveUp}
}

// occConfigJSON is storm.OCCConfig with its defaults filled in and every
// client count simulated.
type occConfigJSON struct {
	Clients []int  `json:"clients"`
	Runs    int    `json:"runs"`
	NetMean string `json:"net_mean"`
	NetSD   string `json:"net_sd"`
	Seed    uint64 `json:"seed"`
}

type occResultJSON struct {
	Policy    string  `json:"policy"`
	Clients   int     `json:"clients"`
	Runs      int     `json:"runs"`
	Calls     float64 `json:"avg_calls"`
	Time      string  `json:"avg_completion"`
	Unwritten float64 `json:"avg_unwritten"`
}

func cmdStorm(ctx context.Context, args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("storm", "[--model capacity|occ] [flags]", stormExamples, stdout)
	model := fs.String("model", "capacity", "simulation model: capacity (an outage, then limited capacity) or occ (optimistic concurrency on one row)")
	clientsFlag := fs.String("clients", "", fmt.Sprintf("comma-separated client counts (default 1000 for capacity, 50,100,190 for occ; at most %d and %d)", storm.MaxClients, storm.MaxOCCClients))
	capacity := fs.Float64("capacity", 200, "capacity model: requests per second the server completes after the outage")
	outage := fs.Duration("outage", 3*time.Second, "capacity model: how long every request fails")
	timeouts := fs.Bool("timeouts", false, "capacity model: requests hang until the attempt timeout during the outage instead of failing with 503")
	spread := fs.Duration("spread", time.Second, "capacity model: window over which clients start")
	runs := fs.Int("runs", 100, fmt.Sprintf("occ model: runs averaged per point (1 to %d)", storm.MaxRuns))
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
	set := fs.setFlags()
	var m stormModel
	switch *model {
	case "capacity":
		m = &capacityModel{cfg: storm.CapacityConfig{Capacity: *capacity, Outage: *outage, OutageTimeouts: *timeouts, Spread: *spread, Seed: *seed}}
	case "occ":
		m = &occModel{cfg: storm.OCCConfig{Runs: *runs, Seed: *seed}}
	default:
		return usagef("unknown model %q (models: capacity, occ)", *model)
	}
	// A flag of the other model would be ignored: say so instead.
	for _, f := range []string{"capacity", "outage", "timeouts", "spread", "runs"} {
		if set[f] && !slices.Contains(m.flags(), f) {
			return usagef("--%s applies only to --model %s", f, otherModel(*model))
		}
	}
	defClients, maxClients := m.clients()
	if set["clients"] && strings.TrimSpace(*clientsFlag) == "" {
		return usagef("--clients is empty: give client counts such as %s", defClients)
	}
	if *clientsFlag == "" {
		*clientsFlag = defClients
	}
	clients, err := parseInts(*clientsFlag, maxClients, *model)
	if err != nil {
		return err
	}
	switch {
	case *runs < 1 || *runs > storm.MaxRuns:
		return usagef("--runs must be between 1 and %d, got %d", storm.MaxRuns, *runs)
	case !(*capacity > 0) || math.IsInf(*capacity, 0):
		return usagef("--capacity must be a positive number of requests per second, got %v", *capacity)
	case *outage < 0:
		return usagef("--outage must not be negative, got %v", *outage)
	case *spread < 0:
		return usagef("--spread must not be negative, got %v", *spread)
	}
	contenders, err := stormContenders(m, policies)
	if err != nil {
		return err
	}
	if *svgFile != "" {
		// Fail before the work, not after it.
		if err := writable(*svgFile); err != nil {
			return err
		}
	}

	rep := stormReport{Schema: stormSchema, Model: *model, Seed: *seed, Contenders: contenders}
	var ss []series
	for _, ct := range contenders {
		s := series{name: ct.Name}
		for _, n := range clients {
			y, err := m.run(ctx, n, ct, &rep)
			if err != nil {
				return stormError(err)
			}
			s.points = append(s.points, [2]float64{float64(n), y})
		}
		ss = append(ss, s)
	}
	m.report(&rep, clients)

	if *svgFile != "" {
		title, ylabel := m.chart()
		if err := writeFile(*svgFile, func(w io.Writer) error { return lineChart(w, title, "clients", ylabel, ss) }); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return m.text(stdout, len(policies) == 0)
}

// stormModel is one of storm's simulation models: its flags, client
// counts, contenders, runs and output.
type stormModel interface {
	// flags names the model's own flags.
	flags() []string
	// clients returns the default --clients and the most one run takes.
	clients() (def string, limit int)
	// builtIn returns the contenders simulated when no --policy is given;
	// adapt fits a user's policy to the model.
	builtIn() []storm.Contender
	adapt(p retryclient.Policy) retryclient.Policy
	// run simulates n clients of ct, adds the result to rep and returns the
	// value charted against n.
	run(ctx context.Context, n int, ct storm.Contender, rep *stormReport) (float64, error)
	// report fills in the model's configuration.
	report(rep *stormReport, clients []int)
	// chart returns the SVG's title and y label.
	chart() (title, ylabel string)
	// text prints the results as a table; builtIn says the contenders are
	// the built-in ones.
	text(w io.Writer, builtIn bool) error
}

func otherModel(model string) string {
	if model == "occ" {
		return "capacity"
	}
	return "occ"
}

// capacityModel is an outage, then limited capacity (storm.RunCapacity).
type capacityModel struct {
	cfg     storm.CapacityConfig
	results []storm.CapacityResult
}

func (m *capacityModel) flags() []string                               { return []string{"capacity", "outage", "timeouts", "spread"} }
func (m *capacityModel) clients() (string, int)                        { return "1000", storm.MaxClients }
func (m *capacityModel) builtIn() []storm.Contender                    { return storm.CapacityContenders() }
func (m *capacityModel) adapt(p retryclient.Policy) retryclient.Policy { return p }
func (m *capacityModel) chart() (string, string) {
	return "Retry amplification during an outage", "calls per logical request"
}

func (m *capacityModel) run(ctx context.Context, n int, ct storm.Contender, rep *stormReport) (float64, error) {
	c := m.cfg.WithDefaults()
	c.Clients = n
	r, err := storm.RunCapacity(ctx, c, ct)
	if err != nil {
		return 0, err
	}
	m.results = append(m.results, r)
	rep.Results = append(rep.Results, capacityResultOf(r))
	return r.Amplification, nil
}

func (m *capacityModel) report(rep *stormReport, clients []int) {
	rep.Capacity = capacityConfigOf(m.cfg.WithDefaults(), clients)
}

func (m *capacityModel) text(w io.Writer, _ bool) error {
	cfg := m.cfg.WithDefaults()
	mode := "503"
	if cfg.OutageTimeouts {
		mode = fmt.Sprintf("hangs until the attempt timeout: the policy's, or %v when it has none", cfg.AttemptTimeout)
	}
	fmt.Fprintf(w, "capacity model: %v outage (%s), then %v req/s; clients start within %v; one-way latency %v; seed %d\n",
		cfg.Outage, mode, cfg.Capacity, cfg.Spread, cfg.Latency, cfg.Seed)
	fmt.Fprintf(w, "p50/p99: time to success of the requests that succeeded\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tclients\tcalls\tamplification\tsuccess\tp50\tp99\tpeak req/s\tgave up\t")
	for _, r := range m.results {
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
	return tw.Flush()
}

// occModel is optimistic concurrency on one row (storm.RunOCC).
type occModel struct {
	cfg     storm.OCCConfig
	results []storm.OCCResult
}

func (m *occModel) flags() []string                               { return []string{"runs"} }
func (m *occModel) clients() (string, int)                        { return "50,100,190", storm.MaxOCCClients }
func (m *occModel) builtIn() []storm.Contender                    { return storm.OCCContenders() }
func (m *occModel) adapt(p retryclient.Policy) retryclient.Policy { return storm.ForOCC(p) } // a conflict is a 409
func (m *occModel) chart() (string, string) {
	return "Work under optimistic concurrency", "average calls per run"
}

func (m *occModel) run(ctx context.Context, n int, ct storm.Contender, rep *stormReport) (float64, error) {
	c := m.cfg.WithDefaults()
	c.Clients = n
	r, err := storm.RunOCC(ctx, c, ct)
	if err != nil {
		return 0, err
	}
	m.results = append(m.results, r)
	rep.OCCRes = append(rep.OCCRes, occResultOf(r))
	return r.Calls, nil
}

func (m *occModel) report(rep *stormReport, clients []int) {
	cfg := m.cfg.WithDefaults()
	rep.OCC = &occConfigJSON{Clients: clients, Runs: cfg.Runs, NetMean: cfg.NetMean.String(), NetSD: cfg.NetSD.String(), Seed: cfg.Seed}
}

func (m *occModel) text(w io.Writer, builtIn bool) error {
	cfg := m.cfg.WithDefaults()
	fmt.Fprintf(w, "occ model: one row, network delay |N(%v, %v)|, %d runs per point; seed %d\n", cfg.NetMean, cfg.NetSD, cfg.Runs, cfg.Seed)
	if builtIn {
		fmt.Fprintf(w, "contenders: exponential backoff from 5ms capped at 2s with each jitter kind, and no backoff\n")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tclients\tavg calls\tavg completion\tunwritten\t")
	for _, r := range m.results {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%v\t%.1f\t\n", r.Policy, r.Clients, r.Calls, r.Time.Round(time.Millisecond), r.Unwritten)
	}
	return tw.Flush()
}

func occResultOf(r storm.OCCResult) occResultJSON {
	return occResultJSON{Policy: r.Policy, Clients: r.Clients, Runs: r.Runs, Calls: r.Calls, Time: r.Time.String(), Unwritten: r.Unwritten}
}

// stormContenders returns the policies to simulate: the files given, or the
// model's built-in set.
func stormContenders(m stormModel, files []string) ([]storm.Contender, error) {
	if len(files) == 0 {
		return m.builtIn(), nil
	}
	var out []storm.Contender
	for _, f := range files {
		p, err := loadPolicy(f)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		out = append(out, storm.Contender{Name: name, Policy: m.adapt(p)})
	}
	return out, nil
}

// loadPolicy reads a policy YAML file, strictly, and at most retryclient.MaxPolicySize
// bytes of it.
func loadPolicy(path string) (retryclient.Policy, error) {
	data, err := readBounded(path, "policy", retryclient.MaxPolicySize)
	if err != nil {
		return retryclient.Policy{}, err
	}
	p, err := retryclient.ParsePolicy(path, data)
	if err != nil {
		return retryclient.Policy{}, usageError{yamlError(path, data, err).Error()}
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

// parseInts parses --clients: comma-separated counts from 1 to limit, the
// most the model allows.
func parseInts(s string, limit int, model string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > limit {
			return nil, usagef("--clients: %q is not a whole number between 1 and %d (the most the %s model takes)", strings.TrimSpace(f), limit, model)
		}
		out = append(out, n)
	}
	return out, nil
}
