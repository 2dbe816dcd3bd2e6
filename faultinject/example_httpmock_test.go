package faultinject_test

import (
	"fmt"
	"io"
	"net/http"

	"github.com/jarcoal/httpmock"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

// A MockTransport that already answers other hosts keeps doing so: Register
// refuses to replace its no-responder unless WithNoResponder hands it the
// requests no route matches. The retrying client sits above the mock.
func ExampleWithNoResponder() {
	mine := httpmock.NewStringResponder(200, "from my own responder")
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(mine)

	s := faultinject.NewScenario("users").
		Route("GET /users/{id}", faultinject.Status(503), faultinject.Status(200)).
		MustBuild()
	journal := faultinject.Register(mt, s, faultinject.WithNoResponder(mine))
	p := retryclient.DefaultPolicy().WithBackoff(retryclient.ConstantBackoff(0))
	client := &http.Client{Transport: retryclient.New(mt, p)}

	for _, url := range []string{"http://api.example/users/1", "http://cdn.example/logo.png"} {
		resp, err := client.Get(url)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s → %d %q\n", url, resp.StatusCode, body)
	}
	fmt.Println("journaled:", journal.Len())
	// Output:
	// http://api.example/users/1 → 200 ""
	// http://cdn.example/logo.png → 200 "from my own responder"
	// journaled: 2
}
