package faultinject

import (
	"io"
	"net/http"
)

// empty closes the connection (FIN, not RST) without sending a byte.
type empty struct{}

func init() { register("empty", empty{}) }

func (empty) beforeFirstByte() {}

func (empty) serve(x *exchange) {
	conn, _ := x.hijack()
	conn.Close()
}

func (empty) mock(x *exchange) (*http.Response, error) {
	return nil, io.EOF
}
