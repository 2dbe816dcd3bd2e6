package faultinject_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/retrylab/retrylab/faultinject"
)

// printJournal prints the parts of a journal that do not depend on timing.
func printJournal(j *faultinject.Journal) {
	for _, c := range j.Calls() {
		fmt.Printf("#%d %s %s [%s #%d] %s %d\n", c.Seq, c.Method, c.Path, c.Route, c.Index, c.Action, c.Status)
	}
}

func ExampleNewPipeServer() {
	s := faultinject.NewScenario("flaky").
		Route("GET /users/{id}",
			faultinject.Status(503).Times(2),
			faultinject.Status(429).RetryAfter(2*time.Second),
			faultinject.Status(200).Body(`{"id":1}`)).
		MustBuild()
	srv := faultinject.NewPipeServer(s)
	defer srv.Close()

	client := srv.Client()
	for range 4 {
		resp, err := client.Get(srv.URL + "/users/1")
		if err != nil {
			fmt.Println(err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%d Retry-After=%q body=%q\n", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	printJournal(srv.Journal())
	// Output:
	// 503 Retry-After="" body=""
	// 503 Retry-After="" body=""
	// 429 Retry-After="2" body=""
	// 200 Retry-After="" body="{\"id\":1}"
	// #1 GET /users/1 [GET /users/{id} #1] respond 503
	// #2 GET /users/1 [GET /users/{id} #2] respond 503
	// #3 GET /users/1 [GET /users/{id} #3] respond 429
	// #4 GET /users/1 [GET /users/{id} #4] respond 200
}

func ExampleParseScenario() {
	s, err := faultinject.ParseScenario("orders.yaml", []byte(`
name: orders
routes:
  - route: POST /orders
    steps:
      - fault: reset
      - respond: 201
        body: '{"order": 7}'
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := faultinject.NewPipeServer(s)
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/orders", strings.NewReader(`{"item": 1}`))
	req.Header.Set("Idempotency-Key", "k-1")
	_, err = srv.Client().Do(req)
	fmt.Println("first attempt:", err)

	req, _ = http.NewRequest("POST", srv.URL+"/orders", strings.NewReader(`{"item": 1}`))
	req.Header.Set("Idempotency-Key", "k-1")
	req.Header.Set(faultinject.AttemptHeader, "2")
	resp, err := srv.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("second attempt:", resp.StatusCode)

	printJournal(srv.Journal())
	calls := srv.Journal().Calls()
	fmt.Println("same body:", calls[0].BodySHA256 == calls[1].BodySHA256, "keys:", calls[0].IdempotencyKey, calls[1].IdempotencyKey, "attempts:", calls[0].Attempt, calls[1].Attempt)
	// Output:
	// first attempt: Post "http://faultinject.invalid/orders": EOF
	// second attempt: 201
	// #1 POST /orders [POST /orders #1] reset 0
	// #2 POST /orders [POST /orders #2] respond 201
	// same body: true keys: k-1 k-1 attempts: 0 2
}

func ExampleParseScenario_error() {
	_, err := faultinject.ParseScenario("fixtures/outage.yaml", []byte(`
routes:
  - route: GET /health
    steps:
      - fault: rest
`))
	fmt.Println(err)
	// Output:
	// fixtures/outage.yaml:5:16: unknown fault "rest" (did you mean "reset"?)
}

func ExampleRegister() {
	s := faultinject.NewScenario("mocked").
		Route("GET /items", faultinject.Reset(), faultinject.Status(200).Body("[]")).
		MustBuild()
	mt := httpmock.NewMockTransport()
	journal := faultinject.Register(mt, s)
	client := &http.Client{Transport: mt}

	_, err := client.Get("http://api.example/items")
	fmt.Println("reset:", errors.Is(err, syscall.ECONNRESET))
	resp, err := client.Get("http://api.example/items")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	resp, _ = client.Get("http://api.example/itemz")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.StatusCode, " ", string(body))
	printJournal(journal)
	// Output:
	// reset: true
	// 200
	// 404 faultinject: no route matches GET /itemz; nearest route: GET /items
	// #1 GET /items [GET /items #1] reset 0
	// #2 GET /items [GET /items #2] respond 200
	// #3 GET /itemz [ #1] unmatched 404
}
