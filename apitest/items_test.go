package apitest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrylab/retrylab/apitest"
	fi "github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

// bulkIndex is a client of a bulk API: one POST per round with the pending
// items; each item's result maps to its value or error.
func bulkIndex(c *http.Client, url string) retryclient.BatchCall[string, string] {
	return func(ctx context.Context, ids []string) ([]string, []error, error) {
		items := make([]map[string]string, len(ids))
		for i, id := range ids {
			items[i] = map[string]string{"id": id}
		}
		body, _ := json.Marshal(items)
		req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
		resp, err := c.Do(req)
		if err != nil {
			return nil, nil, retryclient.Transient(err)
		}
		defer resp.Body.Close()
		var out struct {
			Results []struct {
				ID     string
				Status int
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return nil, nil, retryclient.Permanent(err)
		}
		values, errs := make([]string, len(ids)), make([]error, len(ids))
		for i, r := range out.Results {
			if r.Status == http.StatusOK {
				values[i] = "indexed " + r.ID
			} else {
				errs[i] = &retryclient.StatusError{Status: r.Status}
			}
		}
		return values, errs, nil
	}
}

func TestHaveRetriedItemsWithDoBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := apitest.Context(t)
		s := fi.NewScenario("bulk").BulkRoute("POST /index", fi.Bulk{Fail: map[string][]int{
			"b": {503, 429}, "d": {400},
		}}).MustBuild()
		fx := apitest.New(ctx, s)
		r := retryclient.NewRetrier(retryclient.DefaultPolicy().WithBackoff(retryclient.ConstantBackoff(time.Second)))
		res, err := retryclient.DoBatch(ctx, r, "bulk-index", []string{"a", "b", "c", "d"}, bulkIndex(fx.Client(), fx.URL("/index")))
		if err != nil {
			t.Fatal(err)
		}
		if res[1].Value != "indexed b" || res[1].Attempts != 3 || res[3].Err == nil || res[0].Attempts != 1 {
			t.Errorf("results %+v", res)
		}
		if err := apitest.CheckRetriedItems(fx, "b"); err != nil {
			t.Error(err)
		}
		err = apitest.CheckRetriedItems(fx, "b", "d")
		if err == nil || !strings.Contains(err.Error(), "Expected the retry client to send again exactly the bulk items b, d, but it sent again b (3 times).") {
			t.Errorf("wrong expectation: %v", err)
		}
		if err := apitest.CheckRetriedItems(fx); err == nil || !strings.Contains(fmt.Sprint(err), "send no bulk item more than once") {
			t.Errorf("no retries expected: %v", err)
		}
	})
}
