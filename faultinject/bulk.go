package faultinject

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/retrylab/retrylab/internal/decode"
)

// Bulk makes a route a bulk endpoint with per-item failures, as bulk APIs
// answer: the request body is a JSON array of items (or an object whose
// Items field holds it), each item an object whose ID field names it; the
// answer is 200 with one result per item, in request order:
//
//	{"results": [{"id": "a", "status": 200}, {"id": "b", "status": 503}]}
//
// Fail scripts each item: the statuses its first sends get, in order; every
// later send of it (and every item Fail does not name) gets 200. The
// journal records each call's item ids (Call.Items), so a check can tell
// which items a client sent again. A body that is not such JSON is
// answered 400 naming what is wrong. Chaos, when it picks a call, answers
// it as a whole and no item counts as sent.
//
// In YAML:
//
//	routes:
//	  - route: POST /v1/orders/bulk
//	    bulk:
//	      items: orders     # omit when the body is a bare JSON array
//	      id: sku           # default "id"
//	      fail:
//	        b: [503, 503]
//	        d: [400]
type Bulk struct {
	// Items is the field of the request body that holds the items; ""
	// means the body is the array itself.
	Items string
	// ID is the field of an item that names it (default "id"); its value
	// is a string or a number.
	ID string
	// Fail maps item ids to the statuses of their first sends.
	Fail map[string][]int
}

// MaxBulkBody is the largest request body a bulk route reads (1 MiB);
// a larger one is answered 413.
const MaxBulkBody = 1 << 20

// MaxBulkItems bounds the item ids the journal keeps for one call; Call
// is marked Truncated past it.
const MaxBulkItems = 1000

// MaxBulkTracked bounds the distinct items a bulk route counts the sends
// of (until Reset), so a long-running server's memory stays bounded; an
// item first seen past it is answered as on its first send every time.
const MaxBulkTracked = 100_000

func (b *Bulk) idField() string {
	if b.ID == "" {
		return "id"
	}
	return b.ID
}

// check returns what is wrong with b, or "".
func (b *Bulk) check() string {
	for id, statuses := range b.Fail {
		for _, s := range statuses {
			if m := checkStatus(s); m != "" {
				return fmt.Sprintf("bulk: fail: %s: %s", id, m)
			}
		}
	}
	return ""
}

// bulkItems parses body and returns the ids of its items, or what is wrong.
func (b *Bulk) bulkItems(body []byte) ([]string, string) {
	var items []map[string]json.RawMessage
	if b.Items == "" {
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, "the body is not a JSON array of item objects: " + err.Error()
		}
	} else {
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(body, &doc); err != nil {
			return nil, "the body is not a JSON object: " + err.Error()
		}
		raw, ok := doc[b.Items]
		if !ok {
			return nil, fmt.Sprintf("the body has no %q field holding the items", b.Items)
		}
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Sprintf("%q is not an array of item objects: %v", b.Items, err)
		}
	}
	ids := make([]string, len(items))
	for i, it := range items {
		raw, ok := it[b.idField()]
		if !ok {
			return nil, fmt.Sprintf("item %d has no %q field", i, b.idField())
		}
		if string(bytes.TrimSpace(raw)) == "null" {
			return nil, fmt.Sprintf("item %d: %q is null", i, b.idField())
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			var n json.Number
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			if dec.Decode(&n) != nil {
				return nil, fmt.Sprintf("item %d: %q is neither a string nor a number", i, b.idField())
			}
			s = n.String()
		}
		ids[i] = s
	}
	return ids, ""
}

// bulkState counts the sends of each item of a bulk route.
type bulkState map[string]int

// answer steps each item's script and returns the response step.
func (st bulkState) answer(b *Bulk, ids []string) *Step {
	type result struct {
		ID     string `json:"id"`
		Status int    `json:"status"`
	}
	out := struct {
		Results []result `json:"results"`
	}{Results: make([]result, len(ids))}
	for i, id := range ids {
		n, seen := st[id]
		if seen || len(st) < MaxBulkTracked {
			st[id] = n + 1
		}
		status := http.StatusOK
		if f := b.Fail[id]; n < len(f) {
			status = f[n]
		}
		out.Results[i] = result{id, status}
	}
	body, _ := json.Marshal(out)
	return &Step{Respond: Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: append(body, '\n')}}
}

// bulkError is the 400 (or 413) answer to a body a bulk route cannot read.
func bulkError(status int, msg string) *Step {
	return &Step{Respond: Response{Status: status, Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
		Body: []byte("faultinject: bulk: " + msg + "\n")}}
}

// bulkKeys are the keys of a route's bulk mapping.
var bulkKeys = []string{"items", "id", "fail"}

// decodeBulk decodes a route's bulk mapping.
func (d *decoder) decodeBulk(v decode.Value) *Bulk {
	b := &Bulk{}
	v.Mapping("bulk", bulkKeys, func(key string, _, v decode.Value) {
		switch key {
		case "items":
			b.Items = v.String(key)
		case "id":
			b.ID = v.String(key)
		case "fail":
			b.Fail = map[string][]int{}
			v.Mapping("bulk fail", nil, func(id string, _, list decode.Value) {
				var statuses []int
				list.Sequence("fail", func(item decode.Value) { statuses = append(statuses, d.status(item, "status")) })
				b.Fail[id] = statuses
			})
		}
	})
	return b
}

// boundItems cuts ids to what the journal keeps.
func boundItems(ids []string) ([]string, bool) {
	cut := false
	if len(ids) > MaxBulkItems {
		ids, cut = ids[:MaxBulkItems], true
	}
	ids = slices.Clone(ids)
	for i, id := range ids {
		var c bool
		if ids[i], c = bound(id); c {
			cut = true
		}
	}
	return ids, cut
}

// String renders b for timelines, e.g. "bulk (2 items scripted)".
func (b *Bulk) String() string {
	return "bulk (" + strconv.Itoa(len(b.Fail)) + " items scripted)"
}

// bulkAnswer journals the items of a bulk call in c and returns its answer:
// per-item results, or 400/413 for a body it cannot read.
func bulkAnswer(rs *routeState, b *Bulk, body []byte, c *entry) *Step {
	if len(body) > MaxBulkBody {
		return bulkError(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", MaxBulkBody))
	}
	ids, bad := b.bulkItems(body)
	if bad != "" {
		return bulkError(http.StatusBadRequest, bad)
	}
	var cut bool
	c.Items, cut = boundItems(ids)
	c.Truncated = c.Truncated || cut
	return rs.bulk.answer(b, ids)
}
