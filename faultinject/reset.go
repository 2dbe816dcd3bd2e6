package faultinject

import "net/http"

// reset closes the connection with a TCP RST before any response byte.
type reset struct{}

func init() { register("reset", reset{}) }

func (reset) beforeFirstByte() {}

func (reset) serve(x *exchange) {
	conn, _ := x.hijack()
	resetConn(conn)
}

func (reset) mock(x *exchange) (*http.Response, error) {
	return nil, errConnReset()
}
