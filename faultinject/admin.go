package faultinject

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// adminPrefix is where WithAdmin mounts the admin API.
const adminPrefix = "/__admin/"

// maxScenarioUpload bounds a scenario uploaded to the admin API.
const maxScenarioUpload = 1 << 20

// WithAdmin serves an admin API under /__admin/ on the server, for suites
// that drive a standalone server from another language or process. Admin
// requests are not journaled and do not step any script:
//
//	GET  /__admin/journal   the journal as JSON (AdminJournal), streamed;
//	                        ?since=SEQ keeps the calls after SEQ and
//	                        ?limit=N at most N of them, to page through it
//	POST /__admin/reset     restart every script and empty the journal (204)
//	GET  /__admin/scenario  the scenario's name, source and route patterns
//	PUT  /__admin/scenario  replace the scenario with the YAML in the body
//	                        (at most 1 MiB, else 413); 400 with
//	                        "admin upload:LINE:COL: …" when invalid; 503
//	                        when the server closes while it is parsed
//
// and the session endpoints under /__admin/sessions (see WithSessions): a
// request carrying SessionHeader is played by that session.
//
// The API answers clients on loopback addresses only (and in-process pipe
// clients) and refuses others with 403, unless allowRemote is true. Unless
// allowRemote, it also refuses (403) a request whose Host is neither a
// loopback name or address (localhost, 127.0.0.0/8, [::1], any port) nor the
// server's own address: a web page that rebinds its DNS name to 127.0.0.1
// sends its own name as Host. It refuses requests that carry an Origin
// header (a web page must not drive it through the developer's loopback
// address), and an uploaded scenario may not use body-file (it would read
// the server's files).
func WithAdmin(allowRemote bool) Option {
	return func(c *config) { c.admin, c.adminRemote = true, allowRemote }
}

// AdminCall is a journaled call as the admin API encodes it: the fields of
// Call under snake_case names, the header reduced to one value per name.
// It is a plain value.
type AdminCall struct {
	Seq            int               `json:"seq"`
	Route          string            `json:"route"`
	Index          int               `json:"index"`
	Start          time.Time         `json:"start"`
	End            time.Time         `json:"end"`
	Method         string            `json:"method"`
	Path           string            `json:"path"`
	Header         map[string]string `json:"header,omitempty"`
	IdempotencyKey string            `json:"idempotency_key,omitempty"`
	Attempt        int               `json:"attempt,omitempty"`
	BodyLen        int64             `json:"body_len"`
	BodySHA256     string            `json:"body_sha256"`
	ConnID         uint64            `json:"conn_id"`
	Reused         bool              `json:"reused"`
	Action         string            `json:"action"`
	Chaos          bool              `json:"chaos,omitempty"`
	Status         int               `json:"status,omitempty"`
	RetryAfter     string            `json:"retry_after,omitempty"`
	Outcome        string            `json:"outcome,omitempty"`
	Truncated      bool              `json:"truncated,omitempty"`
	// Items are the item ids of a bulk route's call (see Call.Items).
	Items []string `json:"items,omitempty"`
}

// AdminJournal is the body of GET /__admin/journal.
type AdminJournal struct {
	// Scenario is the name of the scenario being played.
	Scenario string `json:"scenario"`
	// Dropped is the number of older calls the journal no longer holds
	// (see WithJournalLimit).
	Dropped int `json:"dropped"`
	// Calls are the journaled calls, in order: those after the since
	// parameter, at most limit of them.
	Calls []AdminCall `json:"calls"`
	// Next is the Seq of the last call listed (since, when none is): pass it
	// as since to get the next page.
	Next int `json:"next"`
	// More says the journal held calls after Next when the response ended
	// (left out by limit, or arrived while it streamed).
	More bool `json:"more"`
}

// adminPage is how many calls the journal endpoint copies out of the
// journal at a time while it streams them.
const adminPage = 256

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.adminRemote && !s.pipe {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !ap.Addr().WithZone("").Unmap().IsLoopback() {
			http.Error(w, "faultinject: the admin API answers loopback clients only", http.StatusForbidden)
			return
		}
	}
	if !s.cfg.adminRemote && !s.pipe && !s.adminHost(r.Host) {
		// A DNS-rebinding page reaches a loopback server under its own
		// name, which it sends as Host.
		http.Error(w, "faultinject: the admin API answers requests to a loopback host or the server's own address only (Host "+strconv.Quote(r.Host)+")", http.StatusForbidden)
		return
	}
	if r.Header.Get("Origin") != "" {
		// A browser page must not drive the admin API through the
		// developer's loopback address.
		http.Error(w, "faultinject: the admin API refuses requests from web pages (Origin header present)", http.StatusForbidden)
		return
	}
	if r.URL.Path == adminPrefix+"sessions" || strings.HasPrefix(r.URL.Path, adminPrefix+"sessions/") {
		s.serveSessions(w, r)
		return
	}
	s.serveTarget(w, r, strings.TrimPrefix(r.URL.Path, adminPrefix), s.eng.Load(), func(sc *Scenario) bool {
		if err := s.Load(sc); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return false
		}
		return true
	})
}

// serveTarget answers the admin endpoint (journal, reset, scenario) of the
// server's own scenario or of a session, played by eng; load installs an
// uploaded scenario, answering the request itself when it fails.
func (s *Server) serveTarget(w http.ResponseWriter, r *http.Request, endpoint string, eng *engine, load func(*Scenario) bool) {
	switch endpoint {
	case "journal":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, "GET")
			return
		}
		s.serveJournal(w, r, eng)
	case "reset":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		eng.reset()
		w.WriteHeader(http.StatusNoContent)
	case "scenario":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, scenarioSummary(eng.sc))
		case http.MethodPut:
			sc, ok := s.readScenario(w, r, "admin upload", false)
			if ok && load(sc) {
				writeJSON(w, http.StatusOK, scenarioSummary(sc))
			}
		default:
			methodNotAllowed(w, "GET, PUT")
		}
	default:
		http.Error(w, "faultinject: unknown admin endpoint "+r.URL.Path+" (journal, reset, scenario, sessions)", http.StatusNotFound)
	}
}

// readScenario reads and parses the scenario uploaded in r's body, citing
// name in its errors, at most maxScenarioUpload bytes. With orNil, a blank
// body is no scenario (nil); otherwise it is an error. When it fails it
// answers r itself and reports false.
func (s *Server) readScenario(w http.ResponseWriter, r *http.Request, name string, orNil bool) (*Scenario, bool) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxScenarioUpload+1))
	if err != nil {
		http.Error(w, "faultinject: reading the scenario: "+err.Error(), http.StatusBadRequest)
		return nil, false
	}
	if len(data) > maxScenarioUpload {
		http.Error(w, "faultinject: scenario larger than 1 MiB", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	if orNil && len(strings.TrimSpace(string(data))) == 0 {
		return nil, true
	}
	ctx, cancel := s.closingContext(r.Context())
	sc, err := parseUploadedScenario(ctx, name, data)
	cancel()
	if ctx.Err() != nil && err == ctx.Err() {
		http.Error(w, "faultinject: the server is closing", http.StatusServiceUnavailable)
		return nil, false
	}
	if err == nil {
		err = sc.Validate()
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, false
	}
	return sc, true
}

// adminHost reports whether host (a request's Host) names a loopback
// address, localhost, or the server's own listening address.
func (s *Server) adminHost(host string) bool {
	if host == "" {
		return false
	}
	if own := strings.TrimPrefix(s.URL, "http://"); strings.EqualFold(host, own) {
		return true
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		name = host[1 : len(host)-1]
	}
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true // RFC 6761: localhost names resolve to loopback only
	}
	a, err := netip.ParseAddr(name)
	return err == nil && a.Zone() == "" && a.Unmap().IsLoopback()
}

// serveJournal streams the journal as an AdminJournal, a page of calls at
// a time, so that neither the journal nor the JSON is copied whole.
func (s *Server) serveJournal(w http.ResponseWriter, r *http.Request, eng *engine) {
	since, limit := 0, 0
	for _, p := range []struct {
		name string
		v    *int
	}{{"since", &since}, {"limit", &limit}} {
		if q := r.URL.Query().Get(p.name); q != "" {
			n, err := strconv.Atoi(q)
			if err != nil || n < 0 {
				http.Error(w, "faultinject: journal: "+p.name+" must be a whole number ≥ 0, got "+strconv.Quote(q), http.StatusBadRequest)
				return
			}
			*p.v = n
		}
	}
	j := eng.journal
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	enc := json.NewEncoder(bw)
	name, _ := json.Marshal(eng.sc.Name)
	fmt.Fprintf(bw, "{\"scenario\": %s,\n\"dropped\": %d,\n\"calls\": [", name, j.Dropped())
	// Calls that arrive while the response streams are left for the next
	// page: a busy server must not keep the response going forever.
	last := j.lastSeq()
	next, sent := since, 0
	for next < last {
		n := min(adminPage, last-next)
		if limit > 0 {
			n = min(n, limit-sent)
		}
		if n <= 0 {
			break
		}
		page := j.CallsAfter(next, n)
		if len(page) == 0 {
			break // reset meanwhile
		}
		for _, c := range page {
			if sent > 0 {
				bw.WriteString(",")
			}
			bw.WriteString("\n")
			if err := enc.Encode(adminCall(c)); err != nil {
				return // the client went away
			}
			sent++
			next = c.Seq
		}
	}
	more := j.lastSeq() > next
	fmt.Fprintf(bw, "],\n\"next\": %d,\n\"more\": %t}\n", next, more)
	bw.Flush()
}

// adminCall converts c for the admin API.
func adminCall(c Call) AdminCall {
	ac := AdminCall{Seq: c.Seq, Route: c.Route, Index: c.Index, Start: c.Start, End: c.End, Method: c.Method,
		Path: c.Path, IdempotencyKey: c.IdempotencyKey, Attempt: c.Attempt, BodyLen: c.BodyLen,
		BodySHA256: c.BodySHA256, ConnID: c.ConnID, Reused: c.Reused, Action: c.Action, Chaos: c.Chaos,
		Status: c.Status, RetryAfter: c.RetryAfter, Outcome: c.Outcome, Truncated: c.Truncated, Items: c.Items}
	if len(c.Header) > 0 {
		ac.Header = make(map[string]string, len(c.Header))
		for k := range c.Header {
			ac.Header[k] = c.Header.Get(k)
		}
	}
	return ac
}

// closingContext returns a context that is done when parent is or when the
// server starts closing, so that Close need not wait for a long upload.
func (s *Server) closingContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	select {
	case <-s.closing:
		cancel() // closing already: the parse must not start
		return ctx, cancel
	default:
	}
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

type summary struct {
	Name   string   `json:"name"`
	Source string   `json:"source,omitempty"`
	Routes []string `json:"routes"`
}

func scenarioSummary(sc *Scenario) summary {
	return summary{Name: sc.Name, Source: sc.Source, Routes: sc.patterns()}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	http.Error(w, "faultinject: method not allowed", http.StatusMethodNotAllowed)
}
