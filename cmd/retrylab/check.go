package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/retrylab/retrylab/internal/lint"
	"github.com/retrylab/retrylab/internal/storm"
	"github.com/retrylab/retrylab/retryclient"
)

const checkExamples = `  retrylab check --policy policy.yaml --baseline main-policy.yaml
  retrylab check --policy policy.yaml --max-amplification 3 --min-success 95% --max-p99 20s
  retrylab check --policy new.yaml --baseline old.yaml --clients 100,1000,10000 --junit check.xml --svg check.svg
`

// checkSchema names the --json output of check.
const checkSchema = "retrylab.check/v1"

// checkReport is the --json output of check, schema [checkSchema]: the
// measurements of each policy and every gate with its verdict.
type checkReport struct {
	Schema   string         `json:"schema"`
	Seed     uint64         `json:"seed"`
	Policies []checkPolicy  `json:"policies"`
	Gates    []checkGate    `json:"gates"`
	Passed   bool           `json:"passed"`
	Config   checkConfigOut `json:"config"`
}

type checkConfigOut struct {
	Clients          []int   `json:"clients"`
	Capacity         float64 `json:"capacity_per_s"`
	Outage           string  `json:"outage"`
	Sequences        int     `json:"chaos_sequences"`
	Deadline         string  `json:"deadline"`
	Tolerance        float64 `json:"tolerance"`
	MaxAmplification float64 `json:"max_amplification,omitempty"`
	MaxP99           string  `json:"max_p99,omitempty"`
	MinSuccess       float64 `json:"min_success,omitempty"`
}

// checkPolicy is one policy's measurements: the capacity model at each
// client count and the chaos model.
type checkPolicy struct {
	Role     string               `json:"role"` // "new" or "baseline"
	Name     string               `json:"name"`
	File     string               `json:"file"`
	Capacity []capacityResultJSON `json:"capacity"`
	Chaos    checkChaosJSON       `json:"chaos"`

	capacity []storm.CapacityResult
	chaos    storm.ChaosResult
}

type checkChaosJSON struct {
	Sequences   int            `json:"sequences"`
	SuccessRate float64        `json:"success_rate"`
	Missed      int            `json:"missed"`
	AvgAttempts float64        `json:"avg_attempts"`
	P99         string         `json:"p99"`
	Ended       map[string]int `json:"ended"`
}

// checkGate is one verdict: an absolute threshold on the new policy, or a
// comparison with the baseline.
type checkGate struct {
	Name     string `json:"name"`
	Metric   string `json:"metric"`
	New      string `json:"new"`
	Baseline string `json:"baseline,omitempty"`
	Limit    string `json:"limit"`
	Passed   bool   `json:"passed"`
	Message  string `json:"message,omitempty"`
}

// checkFlags are check's thresholds, once parsed.
type checkFlags struct {
	maxAmp     float64
	maxP99     time.Duration
	minSuccess float64 // 0..1; 0: none
	tolerance  float64
}

// checkSpec is a parsed check command line.
type checkSpec struct {
	newFile, oldFile   string
	clients            []int
	capCfg             storm.CapacityConfig
	chaosCfg           storm.ChaosConfig
	th                 checkFlags
	json               bool
	junitFile, svgFile string
}

func cmdCheck(ctx context.Context, args []string, stdout, _ io.Writer) error {
	spec, err := parseCheck(args, stdout)
	if err != nil {
		return err
	}
	rep, ss, err := measureCheck(ctx, spec)
	if err != nil {
		return err
	}
	if spec.svgFile != "" {
		if err := writeFile(spec.svgFile, func(w io.Writer) error {
			return lineChart(w, "Retry amplification during an outage", "clients", "calls per logical request", ss)
		}); err != nil {
			return err
		}
	}
	if spec.junitFile != "" {
		if err := writeFile(spec.junitFile, func(w io.Writer) error { return checkJUnit(w, rep.Gates) }); err != nil {
			return err
		}
	}
	if spec.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := printCheck(stdout, rep); err != nil {
		return err
	}
	failed := 0
	for _, g := range rep.Gates {
		if !g.Passed {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d gates failed", failed, len(rep.Gates))
	}
	return nil
}

// parseCheck parses and checks check's flags, before any work.
func parseCheck(args []string, stdout io.Writer) (checkSpec, error) {
	fs := newFlagSet("check", "--policy NEW [--baseline OLD] [flags]", checkExamples, stdout)
	newFile := fs.String("policy", "", "the policy file to gate (required)")
	oldFile := fs.String("baseline", "", "the last accepted policy file, to compare with")
	clientsFlag := fs.String("clients", "100,1000", fmt.Sprintf("comma-separated client counts for the capacity model (at most %d)", storm.MaxClients))
	capacity := fs.Float64("capacity", 200, "capacity model: requests per second the server completes after the outage")
	outage := fs.Duration("outage", time.Second, "capacity model: how long every request fails")
	sequences := fs.Int("sequences", 1000, fmt.Sprintf("chaos model: logical requests, each with its own fault sequence (1 to %d)", storm.MaxChaosSequences))
	deadline := fs.Duration("deadline", 30*time.Second, "chaos model and lint: the caller's deadline for one logical request")
	maxAmp := fs.Float64("max-amplification", 0, "fail when the new policy makes more calls per request than this, at any client count (0: no limit)")
	maxP99 := fs.Duration("max-p99", 0, "fail when the new policy's p99 time to success exceeds this, in either model (0: no limit)")
	minSuccess := fs.String("min-success", "", "fail when the new policy's success rate falls below this, in either model (0.9 or 90%)")
	tolerance := fs.Float64("tolerance", 0.10, "with --baseline: how much worse (relative) the new policy may be before it is a regression")
	seed := fs.Uint64("seed", 1, "random seed; both policies meet the same seeds")
	asJSON := fs.Bool("json", false, "print the results as JSON (schema "+checkSchema+")")
	junitFile := fs.String("junit", "", "also write the gates as JUnit XML to this file")
	svgFile := fs.String("svg", "", "also write a chart (amplification against clients, per policy) to this SVG file")
	if err := parseFlags(fs, args); err != nil {
		return checkSpec{}, err
	}
	if *newFile == "" {
		return checkSpec{}, usagef("--policy is required: the policy file to gate")
	}
	spec := checkSpec{newFile: *newFile, oldFile: *oldFile, json: *asJSON, junitFile: *junitFile, svgFile: *svgFile,
		th:       checkFlags{maxAmp: *maxAmp, maxP99: *maxP99, tolerance: *tolerance},
		capCfg:   storm.CapacityConfig{Capacity: *capacity, Outage: *outage, Spread: time.Second, Seed: *seed},
		chaosCfg: storm.ChaosConfig{Sequences: *sequences, Deadline: *deadline, Seed: *seed},
	}
	switch {
	case *maxAmp != 0 && !(*maxAmp >= 1) || math.IsInf(*maxAmp, 0):
		return spec, usagef("--max-amplification %v: every request makes at least one call, so the limit must be 1 or more", *maxAmp)
	case *maxP99 < 0:
		return spec, usagef("--max-p99 must not be negative, got %v", *maxP99)
	case !(*tolerance >= 0) || *tolerance >= 1:
		return spec, usagef("--tolerance %v: must be a fraction from 0 (no regression allowed) to below 1", *tolerance)
	case *sequences < 1 || *sequences > storm.MaxChaosSequences:
		return spec, usagef("--sequences must be between 1 and %d, got %d", storm.MaxChaosSequences, *sequences)
	case *deadline <= 0:
		return spec, usagef("--deadline must be positive, got %v", *deadline)
	case !(*capacity > 0) || math.IsInf(*capacity, 0):
		return spec, usagef("--capacity must be a positive number of requests per second, got %v", *capacity)
	case *outage < 0:
		return spec, usagef("--outage must not be negative, got %v", *outage)
	}
	if *minSuccess != "" {
		v, err := parseShare(*minSuccess)
		if err != nil {
			return spec, usagef("--min-success %q: %v", *minSuccess, err)
		}
		spec.th.minSuccess = v
	}
	if *oldFile == "" && *maxAmp == 0 && *maxP99 == 0 && spec.th.minSuccess == 0 {
		return spec, usagef("nothing to check: give --baseline, or a threshold (--max-amplification, --max-p99, --min-success)")
	}
	var err error
	if spec.clients, err = parseInts(*clientsFlag, storm.MaxClients, "capacity"); err != nil {
		return spec, err
	}
	for _, f := range []string{*svgFile, *junitFile} {
		if f != "" {
			if err := writable(f); err != nil {
				return spec, err
			}
		}
	}
	return spec, nil
}

// measureCheck runs both models for the new policy and the baseline, lints
// the new one and judges the gates. It returns the report and the chart's
// series.
func measureCheck(ctx context.Context, spec checkSpec) (checkReport, []series, error) {
	rep := checkReport{Schema: checkSchema, Seed: spec.capCfg.Seed, Config: checkConfigOut{
		Clients: spec.clients, Capacity: spec.capCfg.Capacity, Outage: spec.capCfg.Outage.String(),
		Sequences: spec.chaosCfg.Sequences, Deadline: spec.chaosCfg.Deadline.String(),
		Tolerance: spec.th.tolerance, MaxAmplification: spec.th.maxAmp, MinSuccess: spec.th.minSuccess,
	}}
	if spec.th.maxP99 > 0 {
		rep.Config.MaxP99 = spec.th.maxP99.String()
	}
	files := []struct{ role, path string }{{"new", spec.newFile}}
	if spec.oldFile != "" {
		files = append(files, struct{ role, path string }{"baseline", spec.oldFile})
	}
	var ss []series
	var lintGates []checkGate
	for _, f := range files {
		p, err := loadPolicy(f.path)
		if err != nil {
			return rep, nil, err
		}
		if f.role == "new" {
			lintGates = lintGatesOf(f.path, p, spec.chaosCfg.Deadline)
		}
		name := strings.TrimSuffix(filepath.Base(f.path), filepath.Ext(f.path))
		cp, s, err := measurePolicy(ctx, spec, storm.Contender{Name: name, Policy: p})
		if err != nil {
			return rep, nil, err
		}
		cp.Role, cp.File = f.role, f.path
		s.name = f.role + ": " + name
		rep.Policies = append(rep.Policies, cp)
		ss = append(ss, s)
	}
	var base *checkPolicy
	if len(rep.Policies) > 1 {
		base = &rep.Policies[1]
	}
	rep.Gates = append(lintGates, checkGates(&rep.Policies[0], base, spec.th)...)
	rep.Passed = true
	for _, g := range rep.Gates {
		rep.Passed = rep.Passed && g.Passed
	}
	return rep, ss, nil
}

// measurePolicy runs the capacity model at every client count and the
// chaos model for one policy.
func measurePolicy(ctx context.Context, spec checkSpec, ct storm.Contender) (checkPolicy, series, error) {
	cp := checkPolicy{Name: ct.Name}
	var s series
	for _, n := range spec.clients {
		c := spec.capCfg
		c.Clients = n
		r, err := storm.RunCapacity(ctx, c, ct)
		if err != nil {
			return cp, s, stormError(err)
		}
		cp.capacity = append(cp.capacity, r)
		cp.Capacity = append(cp.Capacity, capacityResultOf(r))
		s.points = append(s.points, [2]float64{float64(n), r.Amplification})
	}
	var err error
	if cp.chaos, err = storm.RunChaos(ctx, spec.chaosCfg, ct); err != nil {
		return cp, s, stormError(err)
	}
	cp.Chaos = checkChaosJSON{Sequences: cp.chaos.Sequences, SuccessRate: cp.chaos.SuccessRate, Missed: cp.chaos.Missed,
		AvgAttempts: cp.chaos.AvgAttempts, P99: cp.chaos.P99.String(), Ended: cp.chaos.Ended}
	return cp, s, nil
}

// lintGatesOf runs lint on the new policy, with the chaos model's
// deadline: one failed gate per error-level finding, or one passed gate.
func lintGatesOf(path string, p retryclient.Policy, deadline time.Duration) []checkGate {
	var gates []checkGate
	for _, f := range lint.Check(p, lint.Options{Deadline: deadline}) {
		if f.Severity != lint.Error {
			continue
		}
		gates = append(gates, checkGate{Name: "lint: " + f.ID, Metric: "lint", New: f.Field, Limit: "no error-level finding",
			Message: fmt.Sprintf("%s: %s (fix: %s)", path, f.Message, f.Fix)})
	}
	if len(gates) == 0 {
		gates = append(gates, checkGate{Name: "lint: no error-level findings", Metric: "lint", New: "none", Limit: "no error-level finding", Passed: true})
	}
	return gates
}

// parseShare reads a success rate given as a fraction (0.9) or a
// percentage (90%).
func parseShare(s string) (float64, error) {
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		return 0, errors.New("want a fraction such as 0.95 or a percentage such as 95%")
	}
	if pct {
		v /= 100
	}
	if !(v > 0 && v <= 1) {
		return 0, errors.New("a success rate is above 0 and at most 1 (100%)")
	}
	return v, nil
}

// checkGates judges the new policy against the thresholds and, when given,
// the baseline.
func checkGates(np, bp *checkPolicy, th checkFlags) []checkGate {
	var gates []checkGate
	pct := func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }
	amp := func(v float64) string { return fmt.Sprintf("%.2f", v) }
	dur := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	add := func(g checkGate) { gates = append(gates, g) }

	for i, r := range np.capacity {
		at := fmt.Sprintf("capacity, %d clients", r.Clients)
		if th.maxAmp > 0 {
			add(checkGate{Name: "amplification at most " + amp(th.maxAmp) + " (" + at + ")", Metric: "amplification",
				New: amp(r.Amplification), Limit: amp(th.maxAmp), Passed: r.Amplification <= th.maxAmp})
		}
		if th.minSuccess > 0 {
			add(checkGate{Name: "success at least " + pct(th.minSuccess) + " (" + at + ")", Metric: "success",
				New: pct(r.SuccessRate), Limit: pct(th.minSuccess), Passed: r.SuccessRate >= th.minSuccess})
		}
		if th.maxP99 > 0 {
			add(checkGate{Name: "p99 at most " + dur(th.maxP99) + " (" + at + ")", Metric: "p99",
				New: dur(r.P99), Limit: dur(th.maxP99), Passed: r.SuccessRate > 0 && r.P99 <= th.maxP99})
		}
		if bp == nil {
			continue
		}
		b := bp.capacity[i]
		lim := b.Amplification * (1 + th.tolerance)
		add(checkGate{Name: "amplification no worse than the baseline (" + at + ")", Metric: "amplification",
			New: amp(r.Amplification), Baseline: amp(b.Amplification), Limit: amp(lim), Passed: r.Amplification <= lim+1e-9})
		slim := b.SuccessRate * (1 - th.tolerance)
		add(checkGate{Name: "success no worse than the baseline (" + at + ")", Metric: "success",
			New: pct(r.SuccessRate), Baseline: pct(b.SuccessRate), Limit: pct(slim), Passed: r.SuccessRate >= slim-1e-9})
		if b.SuccessRate > 0 && r.SuccessRate > 0 {
			plim := time.Duration(float64(b.P99) * (1 + th.tolerance))
			add(checkGate{Name: "p99 no worse than the baseline (" + at + ")", Metric: "p99",
				New: dur(r.P99), Baseline: dur(b.P99), Limit: dur(plim), Passed: r.P99 <= plim})
		}
	}
	c := np.chaos
	if th.minSuccess > 0 {
		add(checkGate{Name: "success at least " + pct(th.minSuccess) + " (chaos)", Metric: "success",
			New: pct(c.SuccessRate), Limit: pct(th.minSuccess), Passed: c.SuccessRate >= th.minSuccess})
	}
	if th.maxP99 > 0 {
		add(checkGate{Name: "p99 at most " + dur(th.maxP99) + " (chaos)", Metric: "p99",
			New: dur(c.P99), Limit: dur(th.maxP99), Passed: c.SuccessRate > 0 && c.P99 <= th.maxP99})
	}
	if bp != nil {
		b := bp.chaos
		slim := b.SuccessRate * (1 - th.tolerance)
		add(checkGate{Name: "success no worse than the baseline (chaos)", Metric: "success",
			New: pct(c.SuccessRate), Baseline: pct(b.SuccessRate), Limit: pct(slim), Passed: c.SuccessRate >= slim-1e-9})
		if b.SuccessRate > 0 && c.SuccessRate > 0 {
			plim := time.Duration(float64(b.P99) * (1 + th.tolerance))
			add(checkGate{Name: "p99 no worse than the baseline (chaos)", Metric: "p99",
				New: dur(c.P99), Baseline: dur(b.P99), Limit: dur(plim), Passed: c.P99 <= plim})
		}
	}
	for i := range gates {
		g := &gates[i]
		if !g.Passed && g.Message == "" {
			g.Message = fmt.Sprintf("%s: the new policy has %s", g.Name, g.New)
			if g.Baseline != "" {
				g.Message += " against the baseline's " + g.Baseline
			}
			g.Message += ", beyond the limit of " + g.Limit
		}
	}
	return gates
}

// printCheck prints each policy's measurements, then the gates.
func printCheck(w io.Writer, rep checkReport) error {
	fmt.Fprintf(w, "capacity model: %s outage (503), then %v req/s; chaos model: %d fault sequences, %s deadline; seed %d\n\n",
		rep.Config.Outage, rep.Config.Capacity, rep.Config.Sequences, rep.Config.Deadline, rep.Seed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tmodel\tclients\tamplification\tsuccess\tp99\tmissed\t")
	for _, p := range rep.Policies {
		label := p.Role + ": " + p.Name
		for _, r := range p.capacity {
			p99 := "-"
			if r.SuccessRate > 0 {
				p99 = r.P99.Round(time.Millisecond).String()
			}
			fmt.Fprintf(tw, "%s\tcapacity\t%d\t%.2f\t%.1f%%\t%s\t\t\n", label, r.Clients, r.Amplification, 100*r.SuccessRate, p99)
		}
		c := p.chaos
		fmt.Fprintf(tw, "%s\tchaos\t%d\t%.2f\t%.1f%%\t%s\t%d\t\n", label, c.Sequences, c.AvgAttempts, 100*c.SuccessRate, c.P99.Round(time.Millisecond), c.Missed)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, g := range rep.Gates {
		verdict := "ok  "
		if !g.Passed {
			verdict = "FAIL"
		}
		detail := "new " + g.New
		if g.Baseline != "" {
			detail += ", baseline " + g.Baseline
		}
		fmt.Fprintf(w, "%s %s: %s, limit %s\n", verdict, g.Name, detail, g.Limit)
	}
	return nil
}

// checkJUnit writes the gates as one JUnit test suite: a failure per failed
// gate.
func checkJUnit(w io.Writer, gates []checkGate) error {
	set := junitSet{Name: "retrylab check", Tests: len(gates)}
	for _, g := range gates {
		c := junitCase{Name: g.Name, Classname: "retrylab.check"}
		if !g.Passed {
			set.Failures++
			c.Failure = &junitMessage{Message: g.Message, Text: g.Message}
		}
		set.Cases = append(set.Cases, c)
	}
	return encodeJUnit(w, set)
}
