package faultinject_test

import (
	"fmt"
	"net/http"

	"github.com/retrylab/retrylab/faultinject"
)

// WithJournalLimit keeps a long-running server's journal to its most recent
// calls; credentials are journaled redacted unless WithSecrets.
func ExampleWithJournalLimit() {
	s := faultinject.NewScenario("ring").Route("GET /ping", faultinject.Status(204)).MustBuild()
	srv := faultinject.NewPipeServer(s, faultinject.WithJournalLimit(2))
	defer srv.Close()
	for range 5 {
		req, _ := http.NewRequest("GET", srv.URL+"/ping", nil)
		req.Header.Set("Authorization", "Bearer s3cret")
		resp, err := srv.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
	}
	j := srv.Journal()
	fmt.Println("held", j.Len(), "dropped", j.Dropped(), "served", j.Count("GET /ping"))
	for _, c := range j.Calls() {
		fmt.Println(c.Seq, c.Header.Get("Authorization"))
	}
	for _, c := range j.CallsAfter(4, 10) {
		fmt.Println("after 4:", c.Seq)
	}
	// Output:
	// held 2 dropped 3 served 5
	// 4 [redacted]
	// 5 [redacted]
	// after 4: 5
}
