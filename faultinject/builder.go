package faultinject

import (
	"net/http"
	"time"
)

// ScenarioBuilder builds a Scenario in Go with the same power as the YAML:
//
//	s, err := faultinject.NewScenario("flaky").Seed(42).
//		Route("GET /users/{id}",
//			faultinject.Status(503).Times(2),
//			faultinject.Status(429).RetryAfter(2*time.Second),
//			faultinject.Hang(),
//			faultinject.Reset(),
//			faultinject.Status(200).Body(`{"id":1}`).Delay(150*time.Millisecond)).
//		Build()
//
// Each method returns the builder; errors are reported by Build.
type ScenarioBuilder struct {
	s Scenario
}

// NewScenario starts building a scenario with the given name.
func NewScenario(name string) *ScenarioBuilder {
	return &ScenarioBuilder{s: Scenario{Name: name}}
}

// Seed sets the seed of the chaos source.
func (b *ScenarioBuilder) Seed(seed int64) *ScenarioBuilder {
	b.s.Seed = seed
	return b
}

// Unmatched sets the status sent to requests no route matches (default 404).
func (b *ScenarioBuilder) Unmatched(status int) *ScenarioBuilder {
	b.s.Unmatched = status
	return b
}

// Route adds a route with a ServeMux pattern and its script.
func (b *ScenarioBuilder) Route(pattern string, steps ...StepBuilder) *ScenarioBuilder {
	r := Route{Pattern: pattern}
	for _, s := range steps {
		r.Steps = append(r.Steps, s.Step())
	}
	b.s.Routes = append(b.s.Routes, r)
	return b
}

// When adds conditions to the last added route: it serves only the
// requests that meet them (see [Match]); add a route of the same pattern
// without conditions after it to serve the others.
func (b *ScenarioBuilder) When(m Match) *ScenarioBuilder {
	if n := len(b.s.Routes); n > 0 {
		b.s.Routes[n-1].When = &m
	}
	return b
}

// BulkRoute adds a bulk endpoint with per-item failures (see [Bulk]).
func (b *ScenarioBuilder) BulkRoute(pattern string, bulk Bulk) *ScenarioBuilder {
	b.s.Routes = append(b.s.Routes, Route{Pattern: pattern, Bulk: &bulk})
	return b
}

// ThenLoop makes the last added route start its script again once it is
// exhausted.
func (b *ScenarioBuilder) ThenLoop() *ScenarioBuilder {
	return b.then(After{Mode: AfterLoop})
}

// ThenStatus makes the last added route answer status once its script is
// exhausted.
func (b *ScenarioBuilder) ThenStatus(status int) *ScenarioBuilder {
	return b.then(After{Mode: AfterStatus, Status: status})
}

// ThenUpstream makes the last added route forward every request to the
// upstream once its script is exhausted (proxy mode, see WithUpstream).
func (b *ScenarioBuilder) ThenUpstream() *ScenarioBuilder {
	return b.then(After{Mode: AfterUpstream})
}

// Upstream sets the scenario's upstream, the real service proxy steps
// forward to (see WithUpstream, which takes its place).
func (b *ScenarioBuilder) Upstream(rawURL string) *ScenarioBuilder {
	b.s.Upstream = rawURL
	return b
}

// ThenRepeatLast makes the last added route repeat its last step once its
// script is exhausted (the default).
func (b *ScenarioBuilder) ThenRepeatLast() *ScenarioBuilder {
	return b.then(After{Mode: AfterRepeatLast})
}

func (b *ScenarioBuilder) then(a After) *ScenarioBuilder {
	if n := len(b.s.Routes); n > 0 {
		b.s.Routes[n-1].After = a
	}
	return b
}

// Chaos applies step, instead of the script, to each request of the route
// with the given pattern ("" for every route) with the given probability.
func (b *ScenarioBuilder) Chaos(route string, probability float64, step StepBuilder) *ScenarioBuilder {
	b.s.Chaos = append(b.s.Chaos, Chaos{Route: route, Probability: probability, Step: step.Step()})
	return b
}

// Build returns the scenario, or the first problem found by Validate.
func (b *ScenarioBuilder) Build() (*Scenario, error) {
	s := b.s
	s.Routes = append([]Route(nil), s.Routes...)
	s.Chaos = append([]Chaos(nil), s.Chaos...)
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// MustBuild is like Build but panics on error; it suits tests and examples.
func (b *ScenarioBuilder) MustBuild() *Scenario {
	s, err := b.Build()
	if err != nil {
		panic(err)
	}
	return s
}

// StepBuilder builds one Step. It is a value: every method returns a
// modified copy, so a StepBuilder may be reused as a template.
type StepBuilder struct {
	s Step
}

// Proxy starts a step that forwards the request to the upstream and relays
// its response (see WithUpstream).
func Proxy() StepBuilder {
	return StepBuilder{s: Step{Upstream: true}}
}

// Upstream makes the step's fault play on the upstream's real response
// instead of the step's own (see Step.Upstream).
func (b StepBuilder) Upstream() StepBuilder { b.s.Upstream = true; return b }

// Status starts a step that responds with the given status.
func Status(code int) StepBuilder {
	return StepBuilder{s: Step{Respond: Response{Status: code}}}
}

// Fault starts a step that plays the fault with the given word, such as
// "reset"; Build reports an unknown word.
func Fault(name string) StepBuilder {
	return StepBuilder{s: Step{Fault: name}}
}

// Hang starts a step that holds the request until the client gives up or the
// server closes (or, with For, sends the step's response after a while).
func Hang() StepBuilder { return Fault("hang") }

// Reset starts a step that resets the connection before any response byte.
func Reset() StepBuilder { return Fault("reset") }

// ResetAfterHeaders starts a step that sends the response's headers, then
// resets the connection.
func ResetAfterHeaders() StepBuilder { return Fault("reset-after-headers") }

// ResetMidBody starts a step that sends the headers and half of the body of
// the response given with Respond and Body, then resets the connection.
func ResetMidBody() StepBuilder { return Fault("reset-mid-body") }

// Empty starts a step that closes the connection without sending a byte.
func Empty() StepBuilder { return Fault("empty") }

// Malformed starts a step that sends a garbage status line.
func Malformed() StepBuilder { return Fault("malformed") }

// SlowBody starts a step that dribbles the body of the response given with
// Respond and Body, Chunk bytes (default 16) every Every (default 100ms).
func SlowBody() StepBuilder { return Fault("slow-body") }

// Refuse starts a step that refuses the next Times dials.
func Refuse() StepBuilder { return Fault("refuse") }

// Step returns the step built.
func (b StepBuilder) Step() Step {
	s := b.s
	s.Respond.Header = s.Respond.Header.Clone()
	return s
}

// Times sets how many requests (or, for refuse, dials) the step serves.
func (b StepBuilder) Times(n int) StepBuilder { b.s.Times = n; return b }

// Delay sets a wait before the step's action.
func (b StepBuilder) Delay(d time.Duration) StepBuilder { b.s.Delay = d; return b }

// Respond sets the response status a fault sends or takes its response from.
func (b StepBuilder) Respond(status int) StepBuilder { b.s.Respond.Status = status; return b }

// Header adds a response header.
func (b StepBuilder) Header(key, value string) StepBuilder {
	b.s.Respond.Header = b.s.Respond.Header.Clone()
	if b.s.Respond.Header == nil {
		b.s.Respond.Header = http.Header{}
	}
	b.s.Respond.Header.Add(key, value)
	return b
}

// Body sets the response body.
func (b StepBuilder) Body(body string) StepBuilder { b.s.Respond.Body = []byte(body); return b }

// RetryAfter sends a delta-seconds Retry-After header (rounded up to whole
// seconds).
func (b StepBuilder) RetryAfter(d time.Duration) StepBuilder {
	b.s.Respond.RetryAfter, b.s.Respond.RetryAfterSet = d, true
	return b
}

// RetryAfterDate sends a Retry-After header with the IMF-fixdate d after the
// request arrived.
func (b StepBuilder) RetryAfterDate(d time.Duration) StepBuilder {
	b.s.Respond.RetryAfterDate = d
	return b
}

// For bounds a hang: after d the step's response is sent.
func (b StepBuilder) For(d time.Duration) StepBuilder { b.s.For = d; return b }

// Chunk sets the number of bytes slow-body writes at a time.
func (b StepBuilder) Chunk(n int) StepBuilder { b.s.Chunk = n; return b }

// Every sets the pause between slow-body chunks.
func (b StepBuilder) Every(d time.Duration) StepBuilder { b.s.Every = d; return b }
