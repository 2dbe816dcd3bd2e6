package faultinject_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	fi "github.com/retrylab/retrylab/faultinject"
)

const matchYAML = `name: orders
routes:
  - route: POST /orders
    when:
      headers: {X-Tenant: acme}
      json: {priority: high, customer.tier: {regex: "^gold|platinum$"}}
    steps:
      - respond: 503
  - route: POST /orders
    when:
      query: {dry-run: "true"}
      body: {regex: "draft"}
    steps:
      - respond: 202
  - route: POST /orders
    steps:
      - respond: 201
  - route: GET /tenants/{id}
    when:
      headers: {User-Agent: {regex: "^curl/"}}
    steps:
      - respond: 418
`

func TestRouteConditions(t *testing.T) {
	s, err := fi.ParseScenario("orders.yaml", []byte(matchYAML))
	if err != nil {
		t.Fatal(err)
	}
	srv := fi.NewPipeServer(s)
	defer srv.Close()
	c := srv.Client()
	do := func(method, path, body string, header ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	high := `{"priority": "high", "customer": {"tier": "gold"}}`
	cases := []struct {
		name   string
		method string
		path   string
		body   string
		header []string
		want   int
	}{
		{"tenant and JSON fields match", "POST", "/orders", high, []string{"X-Tenant", "acme"}, 503},
		{"another tenant falls through", "POST", "/orders", high, []string{"X-Tenant", "globex"}, 201},
		{"a JSON field that differs falls through", "POST", "/orders", `{"priority": "low", "customer": {"tier": "gold"}}`, []string{"X-Tenant", "acme"}, 201},
		{"a body that is not JSON falls through", "POST", "/orders", "priority=high", []string{"X-Tenant", "acme"}, 201},
		{"query and body regex", "POST", "/orders?dry-run=true", "a draft order", nil, 202},
		{"query without the body", "POST", "/orders?dry-run=true", "an order", nil, 201},
		{"header regex", "GET", "/tenants/7", "", []string{"User-Agent", "curl/8.5"}, 418},
	}
	for _, tc := range cases {
		if got, body := do(tc.method, tc.path, tc.body, tc.header...); got != tc.want {
			t.Errorf("%s: %d %q, want %d", tc.name, got, body, tc.want)
		}
	}
	// No route of the pattern takes it: the unmatched status, naming the
	// conditions.
	code, body := do("GET", "/tenants/7", "", "User-Agent", "Go-http-client/1.1")
	if code != 404 || !strings.Contains(body, `GET matches route GET /tenants/{id}, but none of its conditions hold: (header User-Agent=~"^curl/")`) {
		t.Errorf("unmet conditions: %d %q", code, body)
	}
	calls := srv.Journal().Calls()
	if last := calls[len(calls)-1]; last.Action != "unmatched" || last.Route != "" {
		t.Errorf("unmet call journaled as %+v", last)
	}
	if n := srv.Journal().Count("POST /orders"); n != 6 {
		t.Errorf("Count(POST /orders) = %d, want every call to the pattern (6)", n)
	}
}

func TestRouteConditionErrors(t *testing.T) {
	for yaml, want := range map[string]string{
		"name: x\nroutes:\n  - route: GET /a\n    steps: [{respond: 200}]\n  - route: GET /a\n    when: {headers: {X: y}}\n    steps: [{respond: 200}]\n": `x.yaml:5:12: route "GET /a" with conditions comes after a route "GET /a" without any`,
		"name: x\nroutes:\n  - route: GET /a\n    when: {headers: {X: {regex: \"(\"}}}\n    steps: [{respond: 200}]\n":                                    `x.yaml:4:33: headers X: invalid regex "("`,
		"name: x\nroutes:\n  - route: GET /a\n    when: {headers: {\"X Y\": z}}\n    steps: [{respond: 200}]\n":                                           `header name "X Y" is not a valid HTTP field name`,
		"name: x\nroutes:\n  - route: GET /a\n    when: {header: {X: y}}\n    steps: [{respond: 200}]\n":                                                  `unknown field "header" (did you mean "headers"?)`,
		"name: x\nroutes:\n  - route: GET /a\n    when: {query: {q: {regexp: a}}}\n    steps: [{respond: 200}]\n":                                         `unknown field "regexp" (did you mean "regex"?)`,
	} {
		_, err := fi.ParseScenario("x.yaml", []byte(yaml))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q:\n  got  %v\n  want %q", yaml, err, want)
		}
	}
	s, err := fi.NewScenario("x").
		Route("GET /a", fi.Status(503)).When(fi.Match{Headers: map[string]fi.Text{"X-Tenant": fi.Equals("acme")}}).
		Route("GET /a", fi.Status(200)).Build()
	if err != nil || s.Routes[0].When == nil {
		t.Errorf("builder: %v", err)
	}
	if _, err := fi.NewScenario("x").Route("GET /a", fi.Status(200)).Route("GET /a", fi.Status(503)).
		When(fi.Match{Query: map[string]fi.Text{"q": fi.Matches("^a")}}).Build(); err == nil {
		t.Error("builder accepted a route with conditions after the catch-all")
	}
}

// Regression: JSON numbers were compared re-encoded: qty 1.0 never matched
// a body's 1.0, and ids past 2^53 lost digits.
func TestRouteConditionNumbersAsWritten(t *testing.T) {
	s, err := fi.ParseScenario("n.yaml", []byte("name: n\nroutes:\n  - route: POST /o\n    when: {json: {qty: 1.0, id: \"9007199254740993\"}}\n    steps: [{respond: 503}]\n  - route: POST /o\n    steps: [{respond: 201}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv := fi.NewPipeServer(s)
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL+"/o", "application/json", strings.NewReader(`{"qty": 1.0, "id": 9007199254740993}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("status %d; want the conditional route's 503", resp.StatusCode)
	}
}
