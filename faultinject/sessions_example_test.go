package faultinject_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/retrylab/retrylab/faultinject"
)

// Two test processes share one server: each plays the same scenario in a
// session of its own, so each sees the script from its first step and only
// its own calls.
func ExampleAdminClient() {
	srv := faultinject.NewServer(faultinject.NewScenario("idle").MustBuild(), faultinject.WithAdmin(false))
	defer srv.Close()
	admin, err := faultinject.NewAdminClient(srv.URL, nil)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	flaky := faultinject.NewScenario("flaky").Route("GET /x", faultinject.Status(503), faultinject.Status(200)).MustBuild()
	for _, id := range []string{"shard-1", "shard-2"} {
		if err := admin.CreateSession(ctx, id, flaky); err != nil {
			panic(err)
		}
	}
	get := func(session string) {
		req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
		req.Header.Set(faultinject.SessionHeader, session)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(session, resp.StatusCode)
	}
	get("shard-1")
	get("shard-2")
	get("shard-1")
	j, err := admin.Journal(ctx, "shard-1")
	if err != nil {
		panic(err)
	}
	fmt.Println("shard-1 calls:", j.Count("GET /x"))
	get("shard-3")
	for _, id := range []string{"shard-1", "shard-2"} {
		if err := admin.DeleteSession(ctx, id); err != nil {
			panic(err)
		}
	}
	// Output:
	// shard-1 503
	// shard-2 503
	// shard-1 200
	// shard-1 calls: 2
	// shard-3 421
}
