package faultinject

import (
	"net/http"
)

// resetMidBody sends the headers and the first half of the step's body, then
// resets the connection.
type resetMidBody struct{}

func init() { register("reset-mid-body", resetMidBody{}) }

func (resetMidBody) check(st *Step) string {
	if st.Respond.Status == 0 || len(st.Respond.Body) < 2 {
		return `fault "reset-mid-body" needs respond: STATUS and a body of at least 2 bytes`
	}
	return ""
}

func (resetMidBody) serve(x *exchange) {
	conn, brw := x.hijack()
	body := x.step.Respond.Body
	brw.Write(x.head())
	brw.Write(body[:len(body)/2])
	brw.Flush()
	resetConn(conn)
}

func (resetMidBody) mock(x *exchange) (*http.Response, error) {
	body := x.step.Respond.Body
	return x.mockResponse(&brokenBody{rest: body[:len(body)/2]}), nil
}

// checkUpstream: reset-mid-body plays on the upstream's body (which must
// then have at least 2 bytes; a shorter one is sent whole).
func (resetMidBody) checkUpstream(*Step) string { return "" }
