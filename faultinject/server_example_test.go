package faultinject_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/retrylab/retrylab/faultinject"
)

// NewServer serves a scenario on a TCP port of 127.0.0.1, like
// httptest.NewServer, for clients that need real sockets.
func ExampleNewServer() {
	s := faultinject.NewScenario("tcp").Route("GET /health", faultinject.Status(503), faultinject.Status(200)).MustBuild()
	srv := faultinject.NewServer(s)
	defer srv.Close()
	for range 2 {
		resp, err := srv.Client().Get(srv.URL + "/health")
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(resp.Status)
	}
	fmt.Println(srv.Journal().Counts())
	// Output:
	// 503 Service Unavailable
	// 200 OK
	// map[GET /health:2]
}

// LoadScenario reads a YAML file; body-file paths are relative to it, and
// errors name the file, line and column.
func ExampleLoadScenario() {
	dir, _ := os.MkdirTemp("", "scenario")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "user.json"), []byte(`{"id": 1}`), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "users.yaml"), []byte(`name: users
routes:
  - route: GET /users/{id}
    steps:
      - respond: 200
        body-file: user.json
`), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte(`name: broken
routes:
  - route: GET /users/{id}
    steps:
      - respnd: 200
`), 0o644)

	s, err := faultinject.LoadScenario(filepath.Join(dir, "users.yaml"))
	fmt.Println(s.Name, string(s.Routes[0].Steps[0].Respond.Body), err)
	_, err = faultinject.LoadScenario(filepath.Join(dir, "broken.yaml"))
	fmt.Println(filepath.Base(err.Error()))
	// Output:
	// users {"id": 1} <nil>
	// broken.yaml:5:9: unknown field "respnd" (did you mean "respond"?)
}
