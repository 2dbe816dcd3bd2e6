package faultinject

import (
	"net/http"
)

// resetAfterHeaders sends the status line and headers of the step's response
// (announcing its full Content-Length), then resets the connection.
type resetAfterHeaders struct{}

func init() { register("reset-after-headers", resetAfterHeaders{}) }

func (resetAfterHeaders) serve(x *exchange) {
	conn, brw := x.hijack()
	brw.Write(x.head())
	brw.Flush()
	resetConn(conn)
}

func (resetAfterHeaders) mock(x *exchange) (*http.Response, error) {
	return x.mockResponse(&brokenBody{}), nil
}

// checkUpstream: reset-after-headers plays on the upstream's headers.
func (resetAfterHeaders) checkUpstream(*Step) string { return "" }
