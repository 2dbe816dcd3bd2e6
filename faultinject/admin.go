package faultinject

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
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
//	GET  /__admin/journal   the journal as JSON: {"scenario": …, "calls": [...]}
//	POST /__admin/reset     restart every script and empty the journal (204)
//	GET  /__admin/scenario  the scenario's name, source and route patterns
//	PUT  /__admin/scenario  replace the scenario with the YAML in the body
//	                        (at most 1 MiB, else 413); 400 with
//	                        "admin upload:LINE:COL: …" when invalid; 503
//	                        when the server closes while it is parsed
//
// The API answers clients on loopback addresses only (and in-process pipe
// clients) and refuses others with 403, unless allowRemote is true. It
// refuses requests that carry an Origin header (a web page must not drive
// it through the developer's loopback address), and an uploaded scenario
// may not use body-file (it would read the server's files).
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
}

// AdminJournal is the body of GET /__admin/journal.
type AdminJournal struct {
	// Scenario is the name of the scenario being played.
	Scenario string `json:"scenario"`
	// Calls are the journaled calls, in order.
	Calls []AdminCall `json:"calls"`
}

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.adminRemote && !s.pipe {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !ap.Addr().WithZone("").Unmap().IsLoopback() {
			http.Error(w, "faultinject: the admin API answers loopback clients only", http.StatusForbidden)
			return
		}
	}
	if r.Header.Get("Origin") != "" {
		// A browser page must not drive the admin API through the
		// developer's loopback address.
		http.Error(w, "faultinject: the admin API refuses requests from web pages (Origin header present)", http.StatusForbidden)
		return
	}
	eng := s.eng.Load()
	switch r.URL.Path {
	case adminPrefix + "journal":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, "GET")
			return
		}
		out := AdminJournal{Scenario: eng.sc.Name, Calls: []AdminCall{}}
		for _, c := range eng.journal.Calls() {
			ac := AdminCall{Seq: c.Seq, Route: c.Route, Index: c.Index, Start: c.Start, End: c.End, Method: c.Method,
				Path: c.Path, IdempotencyKey: c.IdempotencyKey, Attempt: c.Attempt, BodyLen: c.BodyLen,
				BodySHA256: c.BodySHA256, ConnID: c.ConnID, Reused: c.Reused, Action: c.Action, Chaos: c.Chaos,
				Status: c.Status, RetryAfter: c.RetryAfter, Outcome: c.Outcome}
			if len(c.Header) > 0 {
				ac.Header = map[string]string{}
				for k := range c.Header {
					ac.Header[k] = c.Header.Get(k)
				}
			}
			out.Calls = append(out.Calls, ac)
		}
		writeJSON(w, http.StatusOK, out)
	case adminPrefix + "reset":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		eng.reset()
		w.WriteHeader(http.StatusNoContent)
	case adminPrefix + "scenario":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, scenarioSummary(eng.sc))
		case http.MethodPut:
			data, err := io.ReadAll(io.LimitReader(r.Body, maxScenarioUpload+1))
			if err != nil {
				http.Error(w, "faultinject: reading the scenario: "+err.Error(), http.StatusBadRequest)
				return
			}
			if len(data) > maxScenarioUpload {
				http.Error(w, "faultinject: scenario larger than 1 MiB", http.StatusRequestEntityTooLarge)
				return
			}
			ctx, cancel := s.closingContext(r.Context())
			sc, err := parseUploadedScenario(ctx, "admin upload", data)
			cancel()
			if ctx.Err() != nil && err == ctx.Err() {
				http.Error(w, "faultinject: the server is closing", http.StatusServiceUnavailable)
				return
			}
			if err == nil {
				err = s.Load(sc)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			writeJSON(w, http.StatusOK, scenarioSummary(sc))
		default:
			methodNotAllowed(w, "GET, PUT")
		}
	default:
		http.Error(w, "faultinject: unknown admin endpoint "+r.URL.Path+" (journal, reset, scenario)", http.StatusNotFound)
	}
}

// closingContext returns a context that is done when parent is or when the
// server starts closing, so that Close need not wait for a long upload.
func (s *Server) closingContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
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
