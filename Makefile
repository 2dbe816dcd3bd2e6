# RetryLab. Every tool below is fetched and pinned by this Makefile; nothing is installed by hand.
GO          ?= go
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
GINKGO      := $(GO) run github.com/onsi/ginkgo/v2/ginkgo@v2.34.0
BENCHSTAT   := $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
PKGS        := ./...
FUZZTIME    ?= 10s
BENCHCOUNT  ?= 6

.PHONY: all test demo bench bench-compare fuzz lint vet fmt-check unit ginkgo-parallel

all: test

## test: formatting, vet, staticcheck, the race-enabled test suite and the Ginkgo suites in parallel.
test: fmt-check vet lint unit ginkgo-parallel

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

lint:
	$(STATICCHECK) $(PKGS)

unit:
	$(GO) test -race -count=1 -timeout 240s $(PKGS)

## ginkgo-parallel: runs every Ginkgo suite again with -p, proving no state is shared between processes;
## ginkgocheck then reads the run's JSON report and fails unless every suite ran, on 2 processes, with specs
## (the ginkgo CLI silently runs a package it does not recognise as a Ginkgo suite as a plain go test).
## Only the Test functions that start the suites run (-test.run): `unit` has run the plain tests and Examples,
## and the ginkgo CLI does not show their output from parallel processes.
GINKGO_DIRS = $(sort $(dir $(shell grep -rl --include=*_test.go -e RunSpecs[[:punct:]]t . | grep -v /testdata/)))
GINKGO_TESTS = $(shell awk '/^func Test/ { name = $$2; sub(/[^[:alnum:]_].*/, "", name) } /RunSpecs[[:punct:]]t/ { print name }' $(addsuffix *_test.go,$(GINKGO_DIRS)) | sort -u | paste -sd'|')
ginkgo-parallel:
	out="$$(mktemp -d)" && trap 'rm -rf "$$out"' EXIT && \
	$(GINKGO) -p --procs=2 --race --timeout=4m --json-report=report.json --output-dir="$$out" $(GINKGO_DIRS) -- -test.run='^($(GINKGO_TESTS))$$' && \
	$(GO) run ./internal/ginkgocheck -procs 2 "$$out/report.json" $(GINKGO_DIRS)

## demo: the main job on the embedded default scenario.
demo:
	$(GO) run ./cmd/retrylab run --scenario default --attempts 4 --attempt-timeout 1s

## bench: benchmarks; `make bench-compare` runs them BENCHCOUNT times and summarises with benchstat.
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

bench-compare:
	$(GO) test -run '^$$' -bench . -benchmem -count=$(BENCHCOUNT) $(PKGS) > bench.txt || { cat bench.txt; exit 1; }
	$(BENCHSTAT) bench.txt

## fuzz: a short run of every fuzz target.
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done
