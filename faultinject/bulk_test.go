package faultinject_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"

	fi "github.com/retrylab/retrylab/faultinject"
)

const bulkYAML = `name: bulk-orders
routes:
  - route: POST /v1/orders/bulk
    bulk:
      items: orders
      id: sku
      fail:
        b: [503, 503]
        d: [400]
`

type bulkResults struct {
	Results []struct {
		ID     string `json:"id"`
		Status int    `json:"status"`
	} `json:"results"`
}

func postBulk(t *testing.T, c *http.Client, url, body string) (int, bulkResults, string) {
	t.Helper()
	resp, err := c.Post(url+"/v1/orders/bulk", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r bulkResults
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("answer %q: %v", raw, err)
		}
	}
	return resp.StatusCode, r, string(raw)
}

func statuses(r bulkResults) []string {
	var out []string
	for _, x := range r.Results {
		out = append(out, x.ID+"="+http.StatusText(x.Status)[:2])
	}
	return out
}

func TestBulkRouteScriptsEachItem(t *testing.T) {
	s, err := fi.ParseScenario("bulk.yaml", []byte(bulkYAML))
	if err != nil {
		t.Fatal(err)
	}
	srv := fi.NewPipeServer(s)
	defer srv.Close()
	c := srv.Client()
	all := `{"orders": [{"sku": "a"}, {"sku": "b"}, {"sku": "c"}, {"sku": "d"}]}`
	_, r1, _ := postBulk(t, c, srv.URL, all)
	_, r2, _ := postBulk(t, c, srv.URL, `{"orders": [{"sku": "b"}, {"sku": "d"}]}`)
	_, r3, _ := postBulk(t, c, srv.URL, `{"orders": [{"sku": "b"}]}`)
	got := [][]string{statuses(r1), statuses(r2), statuses(r3)}
	want := [][]string{{"a=OK", "b=Se", "c=OK", "d=Ba"}, {"b=Se", "d=OK"}, {"b=OK"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("results %q, want %q", got, want)
	}
	calls := srv.Journal().Calls()
	if len(calls) != 3 || !slices.Equal(calls[0].Items, []string{"a", "b", "c", "d"}) || !slices.Equal(calls[2].Items, []string{"b"}) || calls[0].Action != "bulk" {
		t.Errorf("journal:\n%s", srv.Journal())
	}
	if line := srv.Journal().String(); !strings.Contains(line, "items a,b,c,d") {
		t.Errorf("timeline lacks the items:\n%s", line)
	}
	// Reset restarts the item scripts.
	srv.Reset()
	if _, r, _ := postBulk(t, c, srv.URL, `{"orders": [{"sku": "b"}]}`); !slices.Equal(statuses(r), []string{"b=Se"}) {
		t.Errorf("after Reset: %q", statuses(r))
	}
}

func TestBulkRouteRefusesBodiesItCannotRead(t *testing.T) {
	s := fi.NewScenario("bulk").BulkRoute("POST /v1/orders/bulk", fi.Bulk{Fail: map[string][]int{"x": {503}}}).MustBuild()
	srv := fi.NewPipeServer(s)
	defer srv.Close()
	for body, want := range map[string]string{
		`{"id": 1}`:                "faultinject: bulk: the body is not a JSON array of item objects",
		`[{"name": "x"}]`:          `faultinject: bulk: item 0 has no "id" field`,
		`[{"id": [1]}]`:            `faultinject: bulk: item 0: "id" is neither a string nor a number`,
		`[{"id": 7}, {"id": "x"}]`: "",
	} {
		code, r, raw := postBulk(t, srv.Client(), srv.URL, body)
		if want == "" {
			if code != 200 || !slices.Equal(statuses(r), []string{"7=OK", "x=Se"}) {
				t.Errorf("%s: %d %q", body, code, raw)
			}
			continue
		}
		if code != 400 || !strings.HasPrefix(raw, want) {
			t.Errorf("%s: %d %q, want 400 %q", body, code, raw, want)
		}
	}
}

func TestBulkRouteOnHTTPMock(t *testing.T) {
	s, err := fi.ParseScenario("bulk.yaml", []byte(bulkYAML))
	if err != nil {
		t.Fatal(err)
	}
	mt := httpmock.NewMockTransport()
	j := fi.Register(mt, s)
	c := &http.Client{Transport: mt}
	_, r, _ := postBulk(t, c, "http://orders.test", `{"orders": [{"sku": "b"}, {"sku": "c"}]}`)
	if !slices.Equal(statuses(r), []string{"b=Se", "c=OK"}) || !slices.Equal(j.Calls()[0].Items, []string{"b", "c"}) {
		t.Errorf("results %q, journal %s", statuses(r), j)
	}
}

func TestBulkRouteDecodingErrors(t *testing.T) {
	for yaml, want := range map[string]string{
		"name: x\nroutes:\n  - route: POST /b\n    bulk: {fail: {a: [99]}}\n":                    "x.yaml:4:23:",
		"name: x\nroutes:\n  - route: POST /b\n    bulk: {ids: id}\n":                            `x.yaml:4:12: unknown field "ids" (did you mean "id"?)`,
		"name: x\nroutes:\n  - route: POST /b\n    bulk: {}\n    steps:\n      - respond: 200\n": "a bulk route answers by its item scripts and takes no steps",
	} {
		_, err := fi.ParseScenario("x.yaml", []byte(yaml))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", yaml, err, want)
		}
	}
	if _, err := fi.NewScenario("x").BulkRoute("POST /b", fi.Bulk{Fail: map[string][]int{"a": {600}}}).Build(); err == nil || !strings.Contains(err.Error(), `bulk: fail: a:`) {
		t.Errorf("builder: %v", err)
	}
}
