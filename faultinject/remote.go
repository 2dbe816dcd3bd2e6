package faultinject

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// EncodeScenario returns s as a scenario document that ParseScenario and
// the admin API's uploads read back to the same scenario: JSON, which YAML
// reads as its flow style. It fails, naming the place, when s does not
// validate or a body is not UTF-8 text (the scenario format has no binary
// bodies). Source is not encoded.
func EncodeScenario(s *Scenario) ([]byte, error) {
	if s == nil {
		return nil, fmt.Errorf("faultinject: EncodeScenario: the scenario is nil")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	doc := scenarioDoc{Name: s.Name, Seed: s.Seed, Unmatched: s.Unmatched, Upstream: s.Upstream, Routes: []routeDoc{}}
	for _, r := range s.Routes {
		route := routeDoc{Route: r.Pattern, When: encodeWhen(r.When)}
		if b := r.Bulk; b != nil {
			route.Bulk = &bulkDoc{Items: b.Items, ID: b.ID, Fail: b.Fail}
		}
		for i := range r.Steps {
			st, err := encodeStep(&r.Steps[i], false)
			if err != nil {
				return nil, fmt.Errorf("faultinject: EncodeScenario: route %q step %d: %w", r.Pattern, i+1, err)
			}
			route.Steps = append(route.Steps, st)
		}
		switch r.After.Mode {
		case AfterLoop:
			route.After = "loop"
		case AfterStatus:
			route.After = r.After.Status
		case AfterUpstream:
			route.After = "upstream"
		}
		doc.Routes = append(doc.Routes, route)
	}
	for i := range s.Chaos {
		c := &s.Chaos[i]
		st, err := encodeStep(&c.Step, true)
		if err != nil {
			return nil, fmt.Errorf("faultinject: EncodeScenario: chaos %d: %w", i+1, err)
		}
		prob := c.Probability
		st.Route, st.Probability = c.Route, &prob
		doc.Chaos = append(doc.Chaos, st)
	}
	return json.Marshal(doc)
}

// scenarioDoc and its parts are the scenario format's fields, in the
// order the decoder wants them (routes before chaos).
type scenarioDoc struct {
	Name      string     `json:"name"`
	Seed      int64      `json:"seed,omitempty"`
	Unmatched int        `json:"unmatched,omitempty"`
	Upstream  string     `json:"upstream,omitempty"`
	Routes    []routeDoc `json:"routes"`
	Chaos     []stepDoc  `json:"chaos,omitempty"`
}

type routeDoc struct {
	Route string    `json:"route"`
	When  *whenDoc  `json:"when,omitempty"`
	Steps []stepDoc `json:"steps,omitempty"`
	After any       `json:"after,omitempty"`
	Bulk  *bulkDoc  `json:"bulk,omitempty"`
}

type bulkDoc struct {
	Items string           `json:"items,omitempty"`
	ID    string           `json:"id,omitempty"`
	Fail  map[string][]int `json:"fail,omitempty"`
}

type whenDoc struct {
	Headers map[string]any `json:"headers,omitempty"`
	Query   map[string]any `json:"query,omitempty"`
	JSON    map[string]any `json:"json,omitempty"`
	Body    any            `json:"body,omitempty"`
}

// encodeWhen returns the document of a route's conditions.
func encodeWhen(m *Match) *whenDoc {
	if m == nil {
		return nil
	}
	text := func(t Text) any {
		if t.Regex != nil {
			return map[string]string{"regex": t.Regex.String()}
		}
		return t.Equals
	}
	conds := func(c map[string]Text) map[string]any {
		if len(c) == 0 {
			return nil
		}
		out := make(map[string]any, len(c))
		for k, t := range c {
			out[k] = text(t)
		}
		return out
	}
	d := &whenDoc{Headers: conds(m.Headers), Query: conds(m.Query), JSON: conds(m.JSON)}
	if m.Body != nil {
		d.Body = text(*m.Body)
	}
	return d
}

type stepDoc struct {
	Route          string              `json:"route,omitempty"`
	Probability    *float64            `json:"probability,omitempty"`
	Respond        int                 `json:"respond,omitempty"`
	Times          int                 `json:"times,omitempty"`
	Delay          string              `json:"delay,omitempty"`
	Headers        map[string][]string `json:"headers,omitempty"`
	Body           *string             `json:"body,omitempty"`
	RetryAfter     string              `json:"retry-after,omitempty"`
	RetryAfterDate string              `json:"retry-after-date,omitempty"`
	Fault          string              `json:"fault,omitempty"`
	For            string              `json:"for,omitempty"`
	Chunk          int                 `json:"chunk,omitempty"`
	Every          string              `json:"every,omitempty"`
	Upstream       bool                `json:"upstream,omitempty"`
}

// encodeStep returns the document of a step; chaos steps have no times.
func encodeStep(st *Step, chaos bool) (stepDoc, error) {
	d := stepDoc{Respond: st.Respond.Status, Fault: st.Fault, Chunk: st.Chunk, Upstream: st.Upstream}
	if st.Times > 1 && !chaos {
		d.Times = st.Times
	}
	dur := func(v time.Duration) string {
		if v == 0 {
			return ""
		}
		return v.String()
	}
	d.Delay, d.For, d.Every = dur(st.Delay), dur(st.For), dur(st.Every)
	d.RetryAfterDate = dur(st.Respond.RetryAfterDate)
	if st.Respond.RetryAfterSet {
		d.RetryAfter = st.Respond.RetryAfter.String()
	}
	if len(st.Respond.Header) > 0 {
		d.Headers = st.Respond.Header
	}
	if st.Respond.Body != nil {
		if !utf8.Valid(st.Respond.Body) {
			return d, fmt.Errorf("the body is not UTF-8 text")
		}
		b := string(st.Respond.Body)
		d.Body = &b
	}
	return d, nil
}

// Call returns the journal record c describes. The header keeps one value
// per name, as the admin API sends it.
func (c AdminCall) Call() Call {
	out := Call{Seq: c.Seq, Route: c.Route, Index: c.Index, Start: c.Start, End: c.End, Method: c.Method,
		Path: c.Path, IdempotencyKey: c.IdempotencyKey, Attempt: c.Attempt, BodyLen: c.BodyLen,
		BodySHA256: c.BodySHA256, ConnID: c.ConnID, Reused: c.Reused, Action: c.Action, Chaos: c.Chaos,
		Status: c.Status, RetryAfter: c.RetryAfter, Outcome: c.Outcome, Truncated: c.Truncated, Items: c.Items}
	if len(c.Header) > 0 {
		out.Header = make(http.Header, len(c.Header))
		for k, v := range c.Header {
			out.Header[k] = []string{v}
		}
	}
	return out
}

// JournalOf returns a journal holding calls, such as those fetched from
// another process's server, under the scenario name name; dropped is the
// number of older calls the server's journal no longer held. The calls
// keep their fields; the journal numbers them as a server does, so calls
// must be in Seq order from dropped+1 (as one fetch of a whole journal
// through the admin API is) for CallsAfter to page by their Seq. Counts
// and Count report each route's last Index, which counts dropped calls too.
func JournalOf(name string, dropped int, calls []Call) *Journal {
	j := newJournal(name)
	j.dropped = max(dropped, 0)
	for _, c := range calls {
		j.calls = append(j.calls, &entry{Call: c, header: packCallHeader(c.Header)})
		j.byRoute[c.Route] = max(j.byRoute[c.Route], c.Index)
	}
	return j
}

// packCallHeader packs a journaled header as the journal holds it.
func packCallHeader(h http.Header) string {
	var b strings.Builder
	for k, vs := range h {
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	return b.String()
}

// AdminClient drives the admin API of a server in another process, such as
// `retrylab serve`, for Go suites that share one server: it creates,
// resets and deletes sessions and fetches journals. An AdminClient is safe
// for concurrent use.
type AdminClient struct {
	base string
	hc   *http.Client
}

// NewAdminClient returns a client of the admin API of the server at
// baseURL (such as "http://127.0.0.1:8080", without /__admin/), sending its
// requests through hc (nil: a client with a 30 s timeout).
func NewAdminClient(baseURL string, hc *http.Client) (*AdminClient, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("faultinject: admin URL %q: want http://HOST:PORT of a server with the admin API", baseURL)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &AdminClient{base: strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"), hc: hc}, nil
}

// URL returns the server's base URL.
func (c *AdminClient) URL() string { return c.base }

// sessionPath returns the admin path of session id, or of the server's own
// scenario when id is "".
func sessionPath(id string) string {
	if id == "" {
		return adminPrefix[:len(adminPrefix)-1]
	}
	return adminPrefix + "sessions/" + id
}

// do sends an admin request and returns the response body, or an error
// naming the call and the server's answer when the status is not want.
func (c *AdminClient) do(ctx context.Context, method, path string, body []byte, want ...int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("faultinject: %s %s: %w", method, path, err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("faultinject: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("faultinject: %s %s: reading the answer: %w", method, path, err)
	}
	for _, w := range want {
		if resp.StatusCode == w {
			return data, nil
		}
	}
	msg := strings.TrimSpace(string(data))
	if len(msg) > 512 {
		msg = msg[:512] + "…"
	}
	return nil, fmt.Errorf("faultinject: %s %s%s: %s: %s", method, c.base, path, resp.Status, msg)
}

// CreateSession creates session id playing s (nil: the server's own
// scenario), or replaces the scenario of session id if it exists.
func (c *AdminClient) CreateSession(ctx context.Context, id string, s *Scenario) error {
	if err := CheckSessionID(id); err != nil {
		return err
	}
	var body []byte
	if s != nil {
		var err error
		if body, err = EncodeScenario(s); err != nil {
			return err
		}
	}
	_, err := c.do(ctx, http.MethodPut, sessionPath(id), body, http.StatusCreated, http.StatusOK)
	return err
}

// DeleteSession deletes session id.
func (c *AdminClient) DeleteSession(ctx context.Context, id string) error {
	if err := CheckSessionID(id); err != nil {
		return err
	}
	_, err := c.do(ctx, http.MethodDelete, sessionPath(id), nil, http.StatusNoContent)
	return err
}

// Reset restarts the scripts of session id ("" for the server's own
// scenario) and empties its journal.
func (c *AdminClient) Reset(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodPost, sessionPath(id)+"/reset", nil, http.StatusNoContent)
	return err
}

// Journal fetches the journal of session id ("" for the server's own
// scenario), every page of it, as a Journal (see JournalOf).
func (c *AdminClient) Journal(ctx context.Context, id string) (*Journal, error) {
	var calls []Call
	var name string
	dropped, since := 0, 0
	for page := 0; ; page++ {
		data, err := c.do(ctx, http.MethodGet, fmt.Sprintf("%s/journal?since=%d", sessionPath(id), since), nil, http.StatusOK)
		if err != nil {
			return nil, err
		}
		var aj AdminJournal
		if err := json.Unmarshal(data, &aj); err != nil {
			return nil, fmt.Errorf("faultinject: the journal of %s: %w", c.base+sessionPath(id), err)
		}
		if page == 0 {
			name, dropped = aj.Scenario, aj.Dropped
		}
		for _, ac := range aj.Calls {
			calls = append(calls, ac.Call())
		}
		if !aj.More || aj.Next <= since {
			break
		}
		since = aj.Next
	}
	return JournalOf(name, dropped, calls), nil
}
