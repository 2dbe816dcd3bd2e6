package faultinject_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/retrylab/retrylab/faultinject"
)

// A standalone server with the admin API, for suites in other languages:
// they read the journal and swap scenarios over HTTP.
func ExampleListen() {
	s := faultinject.NewScenario("flaky").Route("GET /items/{id}", faultinject.Status(503), faultinject.Status(200)).MustBuild()
	srv, err := faultinject.Listen("127.0.0.1:0", s, faultinject.WithAdmin(false))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	for range 2 {
		resp, err := http.Get(srv.URL + "/items/1")
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(resp.Status)
	}

	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/__admin/scenario",
		strings.NewReader("name: teapot\nroutes:\n  - route: GET /items/{id}\n    steps: [{respond: 418}]\n"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("loaded:", srv.Scenario().Name)

	resp, err = http.Get(srv.URL + "/__admin/journal")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(strings.Contains(string(body), `"scenario": "teapot"`))
	// Output:
	// 503 Service Unavailable
	// 200 OK
	// loaded: teapot
	// true
}
