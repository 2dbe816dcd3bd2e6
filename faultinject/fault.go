package faultinject

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/retrylab/retrylab/internal/decode"
)

// A fault is one way of misbehaving, registered by its YAML word. serve
// plays it on a real connection (TCP or pipe server); mock returns what an
// http.Client would observe, for httpmock responders. Both get the request
// as an exchange, whose helpers (exchange.go) are all a fault file needs.
//
// Each fault is one file: its type, its init calling register, and the
// optional interfaces below that it needs. Nothing else in the package
// names a fault.
type fault interface {
	serve(x *exchange)
	mock(x *exchange) (*http.Response, error)
}

// paramFault is a fault with parameters of its own: YAML keys beside
// "fault:" in a step (hang's for, slow-body's chunk and every). The fault
// decodes and validates them; the scenario decoder only routes its keys to
// it. The values live on Step, whose fields document whose they are.
type paramFault interface {
	fault
	// params returns the fault's YAML keys.
	params() []string
	// decodeParam decodes the value of one of its keys into st.
	decodeParam(key string, v decode.Value, st *Step)
	// hasParams reports whether st sets any of its parameters.
	hasParams(st *Step) bool
}

// stepChecker is a fault that needs something of its step (a response, a
// body): check returns what is wrong, or "".
type stepChecker interface {
	check(st *Step) string
}

// preByteFault is a fault that ends the exchange before any response byte.
// net/http's client silently replays such an exchange on a reused
// connection, so the engine closes the connection of the response before
// it.
type preByteFault interface {
	beforeFirstByte()
}

// upstreamFault is a fault that can play on an upstream's real response
// (a proxy step with this fault, see upstream.go): checkUpstream returns
// what is wrong with st for that, or "".
type upstreamFault interface {
	checkUpstream(st *Step) string
}

// dialFault is a fault that acts on dials, not requests: the engine arms
// it (the next Times dials fail) when its step becomes current, and chaos,
// which picks requests, cannot use it.
type dialFault interface {
	refusesDials()
}

// faults maps the YAML fault words to their implementations. It is filled
// by the init functions of the fault files and never changed afterwards.
var faults = map[string]fault{}

// paramOwners maps each fault parameter's YAML key to its fault, filled by
// register.
var paramOwners = map[string]paramFault{}

// register adds a fault under its YAML word; it is called only from the
// init functions of the fault files.
func register(name string, f fault) {
	if _, dup := faults[name]; dup {
		panic("faultinject: fault " + name + " registered twice")
	}
	pf, hasParams := f.(paramFault)
	if hasParams {
		for _, key := range pf.params() {
			if _, dup := paramOwners[key]; dup || slices.Contains(stepFields, key) {
				panic("faultinject: fault " + name + ": parameter " + key + " is taken")
			}
		}
		for _, key := range pf.params() {
			paramOwners[key] = pf
		}
	}
	faults[name] = f
}

// faultNames returns the registered fault words, sorted.
func faultNames() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for n := range faults {
			if !yield(n) {
				return
			}
		}
	})
}

// paramFaults returns the faults with parameters, by name, in name order.
func paramFaults() (names []string, fs []paramFault) {
	for _, n := range faultNames() {
		if pf, ok := faults[n].(paramFault); ok {
			names, fs = append(names, n), append(fs, pf)
		}
	}
	return names, fs
}

// paramKeys returns every fault parameter's key, in fault name order.
func paramKeys() []string {
	var keys []string
	_, fs := paramFaults()
	for _, f := range fs {
		keys = append(keys, f.params()...)
	}
	return keys
}

// preByte reports whether a step's fault ends the exchange before any
// response byte.
func preByte(st *Step) bool {
	_, ok := faults[st.Fault].(preByteFault)
	return ok
}

// dialStep reports whether a step's fault acts on dials.
func dialStep(st *Step) bool {
	_, ok := faults[st.Fault].(dialFault)
	return ok
}

// checkFault reports the first problem of a step's fault and its
// parameters (st.Fault may be ""); chaos steps may not use a dial fault.
func checkFault(st *Step, chaos bool) string {
	names, pfs := paramFaults()
	if st.Fault == "" {
		for _, pf := range pfs {
			if pf.hasParams(st) {
				return fmt.Sprintf("%s need a fault (%s)", andList(paramKeys()), strings.Join(names, ", "))
			}
		}
		return ""
	}
	f, ok := faults[st.Fault]
	if !ok {
		return fmt.Sprintf("unknown fault %q%s", st.Fault, suggest(st.Fault, faultNames()))
	}
	if _, ok := f.(dialFault); ok && chaos {
		return fmt.Sprintf("fault %q cannot be used in chaos (it acts on dials, not on requests)", st.Fault)
	}
	for i, pf := range pfs {
		if names[i] != st.Fault && pf.hasParams(st) {
			verb := "applies"
			if len(pf.params()) > 1 {
				verb = "apply"
			}
			return fmt.Sprintf("%s only %s to fault %q, not %q", andList(pf.params()), verb, names[i], st.Fault)
		}
	}
	if c, ok := f.(stepChecker); ok {
		return c.check(st)
	}
	return ""
}

// andList renders "a", "a and b", "a, b and c".
func andList(words []string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
