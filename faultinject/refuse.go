package faultinject

import "net/http"

// refuse makes the next Times dials fail with ECONNREFUSED. The engine arms
// it when the step becomes current, before the dials it refuses; a request
// that still reaches a refuse step (over a connection opened earlier) is
// closed without a byte.
type refuse struct{}

func init() { register("refuse", refuse{}) }

func (refuse) refusesDials() {}

func (refuse) serve(x *exchange) {
	conn, _ := x.hijack()
	conn.Close()
}

func (refuse) mock(x *exchange) (*http.Response, error) {
	return nil, errRefused("tcp", x.r.URL.Host)
}
