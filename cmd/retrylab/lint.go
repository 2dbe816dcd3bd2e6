package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/retrylab/retrylab/internal/lint"
	"github.com/retrylab/retrylab/internal/words"
	"github.com/retrylab/retrylab/retryclient"
)

const lintExamples = `  retrylab lint --policy policy.yaml
  retrylab lint --policy policy.yaml --deadline 10s --layers 3
  retrylab lint --policy policy.yaml --json
`

// lintSchema names the --json output of lint.
const lintSchema = "retrylab.lint/v1"

// lintFinding is one finding as lint prints it.
type lintFinding struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Field    string `json:"field,omitempty"`
	Message  string `json:"message"`
	Fix      string `json:"fix"`
}

type lintReport struct {
	Schema   string        `json:"schema"`
	Worst    string        `json:"worst_case"` // "unbounded" without an attempt timeout
	Findings []lintFinding `json:"findings"`
}

func cmdLint(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("lint", "--policy FILE [--deadline D] [--layers N]", lintExamples, stdout)
	file := fs.String("policy", "", "the policy file to lint (required)")
	deadline := fs.Duration("deadline", 0, "the caller's deadline for one logical request (0: findings that need it are skipped)")
	layers := fs.Int("layers", 1, "how many layers of retries, each with this policy, stand in front of the bottom service")
	asJSON := fs.Bool("json", false, "print the findings as JSON (schema "+lintSchema+")")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *file == "":
		return usagef("--policy is required: the policy file to lint")
	case *deadline < 0:
		return usagef("--deadline must not be negative, got %v", *deadline)
	case *layers < 1 || *layers > 10:
		return usagef("--layers must be between 1 and 10, got %d", *layers)
	}
	data, err := readBounded(*file, "policy", retryclient.MaxPolicySize)
	if err != nil {
		return err
	}
	pf, err := retryclient.ParsePolicyFile(*file, data)
	if err != nil {
		return usageError{yamlError(*file, data, err).Error()}
	}
	rep := lintReport{Schema: lintSchema, Findings: []lintFinding{}}
	if worst, unbounded := lint.WorstCase(pf.Policy); unbounded {
		rep.Worst = "unbounded"
	} else {
		rep.Worst = worst.String()
	}
	errorsFound := 0
	for _, f := range lint.Check(pf.Policy, lint.Options{Deadline: *deadline, Layers: *layers}) {
		line, col := pf.Pos(f.Field)
		if line == 0 {
			line, col = 1, 1 // a default: the policy as a whole
		}
		rep.Findings = append(rep.Findings, lintFinding{ID: f.ID, Severity: string(f.Severity), File: *file, Line: line, Column: col,
			Field: f.Field, Message: f.Message, Fix: f.Fix})
		if f.Severity == lint.Error {
			errorsFound++
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		for _, f := range rep.Findings {
			fmt.Fprintf(stdout, "%s:%d:%d: %s [%s] %s\n    fix: %s\n", f.File, f.Line, f.Column, f.Severity, f.ID, f.Message, f.Fix)
		}
		fmt.Fprintf(stdout, "worst case of one logical request: %s; %s\n", rep.Worst, words.Plural(len(rep.Findings), "finding"))
	}
	if errorsFound > 0 {
		return fmt.Errorf("%s at error level", words.Plural(errorsFound, "finding"))
	}
	return nil
}
