package faultinject

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/retrylab/retrylab/internal/decode"
)

// Match adds conditions on a request to a route's method and path: every
// condition given must hold for the route to serve the request. Routes may
// then share a pattern. A request's pattern is chosen as net/http.ServeMux
// chooses it (the most specific one that matches); among the routes of
// that pattern, the first in scenario order whose conditions hold serves
// it, and a route without conditions catches the rest. A request whose
// pattern's routes all have conditions it does not meet is answered like
// an unmatched one: it does not fall through to a less specific pattern.
//
// In YAML, under a route's when:, each condition is a string (equal to it)
// or {regex: RE} (matching it):
//
//	routes:
//	  - route: POST /orders
//	    when:
//	      headers: {X-Tenant: acme, User-Agent: {regex: "^curl/"}}
//	      query: {dry-run: "false"}
//	      json: {priority: high, customer.tier: gold}
//	      body: {regex: "urgent"}
//	    steps: ...
//	  - route: POST /orders
//	    steps: ...
type Match struct {
	// Headers are conditions on request headers, by name (canonical or
	// not); a missing header holds no condition.
	Headers map[string]Text
	// Query are conditions on query parameters (the first value).
	Query map[string]Text
	// JSON are conditions on fields of a JSON request body, by dotted path
	// ("customer.tier"; array elements by index, "items.0.sku"): a string
	// is compared as is, a number as written in the body ("1.0" stays
	// "1.0"), any other value as its JSON text.
	JSON map[string]Text
	// Body, when set, is a condition on the whole request body.
	Body *Text
}

// Text is a condition on a string: equal to Equals, or, when Regex is
// set, matching it (Go regexp syntax, anywhere in the string).
type Text struct {
	Equals string
	Regex  *regexp.Regexp
}

// Equals returns a condition that holds for s exactly.
func Equals(s string) Text { return Text{Equals: s} }

// Matches returns a condition that holds for strings matching the regular
// expression re; it panics if re does not compile, like regexp.MustCompile.
func Matches(re string) Text { return Text{Regex: regexp.MustCompile(re)} }

func (t Text) holds(s string) bool {
	if t.Regex != nil {
		return t.Regex.MatchString(s)
	}
	return s == t.Equals
}

func (t Text) String() string {
	if t.Regex != nil {
		return "~" + strconv.Quote(t.Regex.String())
	}
	return strconv.Quote(t.Equals)
}

// needsBody reports whether m looks at the request body.
func (m *Match) needsBody() bool { return m != nil && (len(m.JSON) > 0 || m.Body != nil) }

// holds reports whether r (with its body, when m needs it) meets m.
func (m *Match) holds(r *http.Request, body []byte) bool {
	if m == nil {
		return true
	}
	for name, t := range m.Headers {
		v, ok := r.Header[http.CanonicalHeaderKey(name)]
		if !ok || len(v) == 0 || !t.holds(v[0]) {
			return false
		}
	}
	if len(m.Query) > 0 {
		q := r.URL.Query()
		for name, t := range m.Query {
			if !q.Has(name) || !t.holds(q.Get(name)) {
				return false
			}
		}
	}
	if m.Body != nil && !m.Body.holds(string(body)) {
		return false
	}
	if len(m.JSON) > 0 {
		var doc any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber() // numbers keep the text they were written with
		if dec.Decode(&doc) != nil {
			return false
		}
		for path, t := range m.JSON {
			v, ok := jsonField(doc, path)
			if !ok || !t.holds(v) {
				return false
			}
		}
	}
	return true
}

// jsonField returns the text of the field at the dotted path of doc.
func jsonField(doc any, path string) (string, bool) {
	for _, key := range strings.Split(path, ".") {
		switch v := doc.(type) {
		case map[string]any:
			var ok bool
			if doc, ok = v[key]; !ok {
				return "", false
			}
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(v) {
				return "", false
			}
			doc = v[i]
		default:
			return "", false
		}
	}
	switch v := doc.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	}
	b, _ := json.Marshal(doc)
	return string(b), true
}

// String renders m for messages, e.g. `headers X-Tenant="acme"`.
func (m *Match) String() string {
	if m == nil {
		return "no conditions"
	}
	var parts []string
	add := func(what string, conds map[string]Text) {
		for _, k := range slices.Sorted(mapsKeys(conds)) {
			parts = append(parts, fmt.Sprintf("%s %s=%s", what, k, conds[k]))
		}
	}
	add("header", m.Headers)
	add("query", m.Query)
	add("json", m.JSON)
	if m.Body != nil {
		parts = append(parts, "body="+m.Body.String())
	}
	return strings.Join(parts, ", ")
}

func mapsKeys(m map[string]Text) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// whenKeys are the keys of a route's when mapping.
var whenKeys = []string{"headers", "query", "json", "body"}

// decodeWhen decodes a route's when mapping.
func (d *decoder) decodeWhen(v decode.Value) *Match {
	m := &Match{}
	conds := func(v decode.Value, what string, check func(decode.Value, string)) map[string]Text {
		out := map[string]Text{}
		v.Mapping(what, nil, func(key string, k, val decode.Value) {
			if check != nil {
				check(k, key)
			}
			out[key] = d.text(val, what+" "+key)
		})
		return out
	}
	v.Mapping("when", whenKeys, func(key string, _, v decode.Value) {
		switch key {
		case "headers":
			m.Headers = conds(v, "headers", func(k decode.Value, name string) {
				if !httpguts.ValidHeaderFieldName(name) {
					k.Fail("header name %q is not a valid HTTP field name", name)
				}
			})
		case "query":
			m.Query = conds(v, "query", nil)
		case "json":
			m.JSON = conds(v, "json", nil)
		case "body":
			t := d.text(v, "body")
			m.Body = &t
		}
	})
	return m
}

// text decodes a condition: a string, or {regex: RE}.
func (d *decoder) text(v decode.Value, what string) Text {
	if v.Kind() == decode.Mapping {
		var t Text
		v.Mapping(what, []string{"regex"}, func(_ string, _, re decode.Value) {
			src := re.String(what + " regex")
			rx, err := regexp.Compile(src)
			if err != nil {
				re.Fail("%s: invalid regex %q: %v", what, src, err)
			}
			t.Regex = rx
		})
		if t.Regex == nil {
			v.Fail("%s: want a string or {regex: RE}", what)
		}
		return t
	}
	s, ok := v.AsString()
	if !ok {
		s = v.Text() // a number or a boolean, compared as written
	}
	return Text{Equals: s}
}
