package faultinject

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// route wraps step lines into a one-route scenario, so each case shows only
// what is broken; step lines start at line 4, column 7.
func route(steps string) string {
	return "routes:\n  - route: GET /x\n    steps:\n" + steps
}

func TestParseScenarioErrors(t *testing.T) {
	okRoute := route("      - respond: 200\n")
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown fault", route("      - fault: rest\n"),
			`bad.yaml:4:16: unknown fault "rest" (did you mean "reset"?)`},
		{"unknown step field", route("      - respnd: 200\n"),
			`bad.yaml:4:9: unknown field "respnd" (did you mean "respond"?)`},
		{"unknown top-level field", "nme: x\n",
			`bad.yaml:1:1: unknown field "nme" (did you mean "name"?)`},
		{"unknown field far from any", route("      - respond: 200\n        zzzzzz: 1\n"),
			`bad.yaml:5:9: unknown field "zzzzzz"`},
		{"bare integer duration", route("      - respond: 200\n        delay: 250\n"),
			`bad.yaml:5:16: delay: want a duration string such as "250ms", got the bare number 250`},
		{"bare integer retry-after", route("      - respond: 429\n        retry-after: 2\n"),
			`bad.yaml:5:22: retry-after: want a duration string such as "250ms", got the bare number 2`},
		{"invalid duration", route("      - respond: 200\n        delay: 5x\n"),
			`bad.yaml:5:16: delay: invalid duration "5x" (want a Go duration such as "250ms")`},
		{"negative duration", route("      - respond: 200\n        delay: -1s\n"),
			`bad.yaml:5:16: delay: -1s must not be negative`},
		{"status out of range", route("      - respond: 999\n"),
			`bad.yaml:4:18: status 999 out of range 200..599`},
		{"informational status 100 (was accepted; the client saw 100 Continue)", route("      - respond: 100\n"),
			`bad.yaml:4:18: status 100 is informational (1xx), not a final response; want 200..599`},
		{"informational after status", route("      - respond: 200\n") + "    after: 103\n",
			`bad.yaml:5:12: status 103 is informational (1xx), not a final response; want 200..599`},
		{"header name with CR LF (was silently dropped)", route("      - respond: 200\n        headers: {\"X-A\\r\\nX-B\": v}\n"),
			`bad.yaml:5:19: header name "X-A\r\nX-B" is not a valid HTTP field name (letters, digits and !#$%&'*+-.^_` + "`" + `|~ only)`},
		{"header name with a space", route("      - respond: 200\n        headers:\n          Bad Name: v\n"),
			`bad.yaml:6:11: header name "Bad Name" is not a valid HTTP field name (letters, digits and !#$%&'*+-.^_` + "`" + `|~ only)`},
		{"header value with LF", route("      - respond: 200\n        headers:\n          X-A: \"a\\nb\"\n"),
			`bad.yaml:6:16: header X-A: value "a\nb" contains a control character (CR, LF, NUL, ...)`},
		{"header value with LF in a list", route("      - respond: 200\n        headers:\n          X-A: [ok, \"a\\rb\"]\n"),
			`bad.yaml:6:21: header X-A: value "a\rb" contains a control character (CR, LF, NUL, ...)`},
		{"nested brackets (took 636 MB)", "routes: " + strings.Repeat("[", 20<<10),
			`bad.yaml:1:40: nested deeper than 32 levels`},
		{"nested flow mappings (took 855 MB)", "routes: " + strings.Repeat("{a: ", 10<<10),
			`bad.yaml:1:133: nested deeper than 32 levels`},
		{"nested block sequences", "routes:\n  - " + strings.Repeat("- ", 100) + "x\n",
			`bad.yaml:2:65: nested deeper than 32 levels`},
		{"status as string", route("      - respond: \"200\"\n"),
			`bad.yaml:4:18: respond: want a status code, got the string "200"`},
		{"unmatched out of range", "unmatched: 42\n",
			`bad.yaml:1:12: status 42 out of range 200..599`},
		{"probability out of range", okRoute + "chaos:\n  - route: GET /x\n    probability: 1.5\n    fault: reset\n",
			`bad.yaml:7:18: probability 1.5 not in [0, 1]`},
		{"chaos without probability", okRoute + "chaos:\n  - fault: reset\n",
			`bad.yaml:6:5: chaos entry has no probability`},
		{"chaos on an unknown route", okRoute + "chaos:\n  - route: GET /y\n    probability: 0.5\n    fault: reset\n",
			`bad.yaml:6:12: chaos route "GET /y" is not a route of the scenario (did you mean "GET /x"?)`},
		{"chaos refuse", okRoute + "chaos:\n  - probability: 0.5\n    fault: refuse\n",
			`bad.yaml:7:12: fault "refuse" cannot be used in chaos (it acts on dials, not on requests)`},
		{"chaos times", okRoute + "chaos:\n  - probability: 0.5\n    times: 2\n    fault: reset\n",
			`bad.yaml:7:5: unknown field "times"`},
		{"unknown after word", route("      - respond: 200\n") + "    after: lop\n",
			`bad.yaml:5:12: unknown after "lop" (did you mean "loop"?); want repeat-last, loop, upstream or a status`},
		{"after status out of range", route("      - respond: 200\n") + "    after: 99\n",
			`bad.yaml:5:12: status 99 out of range 200..599`},
		{"bad route pattern", "routes:\n  - route: GET users\n    steps:\n      - respond: 200\n",
			`bad.yaml:2:12: bad route pattern "GET users": parsing "GET users": at offset 4: host/path missing /`},
		{"duplicate route", okRoute + "  - route: GET /x\n    steps:\n      - respond: 200\n",
			`bad.yaml:5:12: duplicate route "GET /x"`},
		{"conflicting routes", "routes:\n  - route: GET /{a}/x\n    after: 200\n  - route: GET /x/{b}\n    after: 200\n",
			`bad.yaml:4:12: bad route pattern "GET /x/{b}": conflicts with pattern "GET /{a}/x": GET /x/{b} and GET /{a}/x both match some paths, like "/x/x".`},
		{"route without pattern", "routes:\n  - steps:\n      - respond: 200\n",
			`bad.yaml:2:5: route entry has no route: METHOD /path`},
		{"route without steps", "routes:\n  - route: GET /x\n    steps: []\n",
			`bad.yaml:3:12: route has no steps (add steps, or after: STATUS)`},
		{"reset-mid-body without respond", route("      - fault: reset-mid-body\n"),
			`bad.yaml:4:16: fault "reset-mid-body" needs respond: STATUS and a body of at least 2 bytes`},
		{"slow-body without respond", route("      - fault: slow-body\n"),
			`bad.yaml:4:16: fault "slow-body" needs respond: STATUS and a body`},
		{"hang for without respond", route("      - fault: hang\n        for: 1s\n"),
			`bad.yaml:4:16: fault "hang" with for needs respond: STATUS (sent once the hang ends)`},
		{"for without hang", route("      - fault: reset\n        for: 1s\n"),
			`bad.yaml:4:16: for only applies to fault "hang", not "reset"`},
		{"chunk without slow-body", route("      - respond: 200\n        chunk: 4\n"),
			`bad.yaml:4:18: for, chunk and every need a fault (hang, slow-body)`},
		{"chunk zero", route("      - fault: slow-body\n        respond: 200\n        chunk: 0\n"),
			`bad.yaml:6:16: chunk: 0 must be at least 1`},
		{"step without action", route("      - times: 2\n"),
			`bad.yaml:4:9: step has neither respond nor fault`},
		{"times as word", route("      - respond: 200\n        times: two\n"),
			`bad.yaml:5:16: times: want an integer, got the string "two"`},
		{"times zero", route("      - respond: 200\n        times: 0\n"),
			`bad.yaml:5:16: times: 0 must be at least 1`},
		{"duplicate field", route("      - respond: 200\n        respond: 201\n"),
			`bad.yaml:5:9: duplicate field "respond"`},
		{"body and body-file", route("      - respond: 200\n        body: a\n        body-file: b\n"),
			`bad.yaml:6:9: body and body-file are exclusive`},
		{"missing body-file", route("      - respond: 200\n        body-file: nope.json\n"),
			`bad.yaml:5:20: body-file: open nope.json: no such file or directory`},
		{"headers as list", route("      - respond: 200\n        headers: [a]\n"),
			`bad.yaml:5:18: headers: want a mapping, got a list`},
		{"routes as mapping", "routes: {a: 1}\n",
			`bad.yaml:1:9: routes: want a list, got a mapping`},
		{"seed as word", "seed: abc\n",
			`bad.yaml:1:7: seed: want an integer, got the string "abc"`},
		{"scenario as list", "- 1\n",
			`bad.yaml:1:1: scenario: want a mapping, got a list`},
		{"empty", "",
			`bad.yaml:1:1: empty scenario: want a mapping with routes`},
		{"syntax error", "a: [1, 2\n",
			`bad.yaml:1:4: sequence end token ']' not found`},
		{"alias", route("      - &s {respond: 200}\n      - *s\n"),
			`bad.yaml:5:9: aliases are not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseScenario("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("parsed %+v, want error %s", s, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
		})
	}
}

// TestLoadScenarioMatchesBuilder: the fixture contract of the design, loaded
// from YAML, equals the same scenario built in Go.
func TestLoadScenarioMatchesBuilder(t *testing.T) {
	got, err := LoadScenario("testdata/flaky-users.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := NewScenario("flaky-users").Seed(42).Unmatched(404).
		Route("GET /users/{id}",
			Status(503).Times(2),
			Status(429).RetryAfter(2*time.Second),
			Status(503).RetryAfterDate(5*time.Second),
			Hang(),
			Reset(),
			Status(200).Delay(150*time.Millisecond).Header("Content-Type", "application/json").Body(`{"id": 1}`)).
		ThenRepeatLast().
		Route("POST /orders",
			ResetMidBody().Respond(200).Body(`{"order": 7, "status": "created"}`),
			Status(201)).
		Chaos("GET /users/{id}", 0.1, Reset()).
		MustBuild()
	want.Source = "testdata/flaky-users.yaml"
	// YAML steps without headers decode to nil headers, as the builder's.
	if !reflect.DeepEqual(got, want) {
		t.Errorf("loaded\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseScenarioDetails(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "body.json"), []byte(`{"big": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	src := "routes:\n" +
		"  - route: /any\n" +
		"    steps:\n" +
		"      - respond: 200\n" +
		"        body-file: body.json\n" +
		"        headers:\n" +
		"          X-Multi: [a, b]\n" +
		"          X-Num: 5\n" +
		"      - fault: slow-body\n" +
		"        respond: 200\n" +
		"        body: |\n" +
		"          line\n" +
		"        chunk: 2\n" +
		"        every: 10ms\n" +
		"    after: 410\n"
	s, err := ParseScenario(filepath.Join(dir, "named.yaml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r := s.Routes[0]
	if s.Name != "named" || string(r.Steps[0].Respond.Body) != `{"big": true}` ||
		!reflect.DeepEqual(r.Steps[0].Respond.Header, http.Header{"X-Multi": {"a", "b"}, "X-Num": {"5"}}) ||
		string(r.Steps[1].Respond.Body) != "line\n" || r.Steps[1].Chunk != 2 || r.Steps[1].Every != 10*time.Millisecond ||
		r.After != (After{Mode: AfterStatus, Status: 410}) {
		t.Errorf("parsed %+v", s)
	}
}

func TestBuilderErrors(t *testing.T) {
	tests := []struct {
		name string
		b    *ScenarioBuilder
		want string
	}{
		{"unknown fault", NewScenario("b").Route("GET /x", Fault("rest")),
			`faultinject: scenario "b": route "GET /x" step 1: unknown fault "rest" (did you mean "reset"?)`},
		{"status", NewScenario("b").Route("GET /x", Status(200), Status(1000)),
			`faultinject: scenario "b": route "GET /x" step 2: status 1000 out of range 200..599`},
		{"pattern", NewScenario("b").Route("GET x", Status(200)),
			`faultinject: scenario "b": bad route pattern "GET x": parsing "GET x": at offset 4: host/path missing /`},
		{"probability", NewScenario("b").Route("GET /x", Status(200)).Chaos("", -0.5, Reset()),
			`faultinject: scenario "b": chaos 1: probability -0.5 not in [0, 1]`},
		{"after", NewScenario("b").Route("GET /x", Status(200)).ThenStatus(42),
			`faultinject: scenario "b": route "GET /x": after: status 42 out of range 200..599`},
		{"no steps", NewScenario("b").Route("GET /x"),
			`faultinject: scenario "b": route "GET /x": route has no steps (add steps, or after: STATUS)`},
		{"informational status", NewScenario("b").Route("GET /x", Status(101)),
			`faultinject: scenario "b": route "GET /x" step 1: status 101 is informational (1xx), not a final response; want 200..599`},
		{"header name with LF", NewScenario("b").Route("GET /x", Status(200).Header("X-A\nX-B", "v")),
			`faultinject: scenario "b": route "GET /x" step 1: header name "X-A\nX-B" is not a valid HTTP field name (letters, digits and !#$%&'*+-.^_` + "`" + `|~ only)`},
		{"header value with CR", NewScenario("b").Route("GET /x", Status(200)).Chaos("", 0.5, Status(503).Header("X-A", "a\rb")),
			`faultinject: scenario "b": chaos 1: header X-A: value "a\rb" contains a control character (CR, LF, NUL, ...)`},
		{"too many steps", NewScenario("b").Route("GET /x", slices.Repeat([]StepBuilder{Status(200)}, MaxSteps+1)...),
			`faultinject: scenario "b": 100001 steps, more than the limit of 100000`},
		{"reset-mid-body", NewScenario("b").Route("GET /x", ResetMidBody().Respond(200)),
			`faultinject: scenario "b": route "GET /x" step 1: fault "reset-mid-body" needs respond: STATUS and a body of at least 2 bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.b.Build()
			if err == nil || err.Error() != tt.want {
				t.Errorf("error\n got: %v\nwant: %s", err, tt.want)
			}
		})
	}
}

func FuzzParseScenario(f *testing.F) {
	seed, _ := os.ReadFile("testdata/flaky-users.yaml")
	f.Add(string(seed))
	f.Add(route("      - respond: 200\n        delay: 250\n"))
	f.Add(route("      - fault: slow-body\n        respond: 200\n        body: abc\n") + "    after: loop\n")
	f.Add("routes:\n  - route: GET /{a}/x\n    after: 200\nchaos:\n  - probability: 0.5\n    fault: hang\n")
	f.Add("a: [1, 2\n")
	f.Add("- &a {x: *a}\n")
	f.Fuzz(func(t *testing.T, src string) {
		s, err := ParseScenario("fuzz.yaml", []byte(src))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml:") {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed scenario does not validate: %v", err)
		}
		newEngine(s, AttemptHeader) // must not panic
	})
}

func TestLoadScenarioFSReadsBodyFilesFromTheFS(t *testing.T) {
	t.Chdir(t.TempDir()) // nothing of the scenario is on disk
	fsys := fstest.MapFS{
		"api/users.yaml":        {Data: []byte(route("      - respond: 200\n        body-file: bodies/user.json\n"))},
		"api/bodies/user.json":  {Data: []byte(`{"id": 1}`)},
		"api/missing-body.yaml": {Data: []byte(route("      - respond: 200\n        body-file: nope.json\n"))},
	}
	s, err := LoadScenarioFS(fsys, "api/users.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(s.Routes[0].Steps[0].Respond.Body); got != `{"id": 1}` || s.Name != "users" || s.Source != "api/users.yaml" {
		t.Errorf("scenario %q from %q, body %q", s.Name, s.Source, got)
	}
	_, err = LoadScenarioFS(fsys, "api/missing-body.yaml")
	if want := "api/missing-body.yaml:5:20: body-file: open api/nope.json: file does not exist"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}
