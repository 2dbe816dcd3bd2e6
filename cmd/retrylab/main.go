package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// usageError is bad input from the user: printed as one line, exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands []command

func init() {
	commands = []command{
		{"run", "run the retry client against a scenario and print the attempt timeline", cmdRun},
		{"serve", "serve a scenario over HTTP on the loopback interface, with an admin API", cmdServe},
		{"storm", "simulate many clients retrying against an outage, per policy", cmdStorm},
		{"record", "pass traffic through to a real service and write its responses as a scenario", cmdRecord},
		{"lint", "find what is risky in a retry policy file, each finding at its file:line", cmdLint},
		{"check", "gate a retry policy in CI: storm and chaos against thresholds and the last accepted policy", cmdCheck},
		{"scenarios", "list the embedded scenarios", cmdScenarios},
		{"conform", "check a client in any language, run as a command, against the conformance rules over TCP", cmdConform},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Main runs the command line args and returns the exit status: 0 on
// success, 1 when the command ran and failed (for run: the request ended
// without a response, or its body could not be read in full), 2 on bad
// input.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		topUsage(stderr)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		topUsage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.As(err, new(usageError)):
				fmt.Fprintf(stderr, "retrylab %s: %s\n", c.name, oneLine(err.Error()))
				return 2
			default:
				fmt.Fprintf(stderr, "retrylab %s: %s\n", c.name, oneLine(err.Error()))
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "retrylab: unknown command %q (commands: %s)\n", args[0], commandNames())
	return 2
}

func commandNames() string {
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	return strings.Join(names, ", ")
}

func topUsage(w io.Writer) {
	fmt.Fprintln(w, "retrylab — scripted HTTP faults, retry timelines and retry-storm simulations")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: retrylab COMMAND [flags]")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'retrylab COMMAND -h' for a command's flags and examples.")
}

// oneLine folds a multi-line error into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// flagSet is a command's flag set with its help printer.
type flagSet struct {
	*flag.FlagSet
	help func()
}

// newFlagSet returns a flag set whose errors are returned, never printed
// with a stack or an exit, and whose help text includes examples.
func newFlagSet(name, synopsis, examples string, stdout io.Writer) *flagSet {
	fs := flag.NewFlagSet("retrylab "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	// The flag package calls Usage on every parse error; help is printed
	// only for -h (see parseFlags), so a bad flag leaves stdout clean.
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, help: func() {
		fmt.Fprintf(stdout, "Usage: retrylab %s %s\n\nFlags:\n", name, synopsis)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		if examples != "" {
			fmt.Fprintf(stdout, "\nExamples:\n%s", examples)
		}
	}}
}

// parseFlags parses args, printing help for -h and turning any other
// problem into a usage error.
func parseFlags(fs *flagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.help()
		return err
	}
	if err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
