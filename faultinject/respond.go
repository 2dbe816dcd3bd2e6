package faultinject

import (
	"bytes"
	"io"
	"net/http"
)

// respond sends the step's response: status, headers, Retry-After and body.
// It is the action of every step without a fault.
type respond struct{}

func (respond) serve(x *exchange) { x.writeResponse() }

func (respond) mock(x *exchange) (*http.Response, error) {
	return x.mockResponse(io.NopCloser(bytes.NewReader(x.step.Respond.Body))), nil
}

// action returns the implementation of a step's action.
func action(st *Step) fault {
	switch {
	case st.Upstream && st.Fault == "":
		return relay{}
	case st.Upstream:
		return onUpstream{faults[st.Fault]}
	case st.Fault == "":
		return respond{}
	}
	return faults[st.Fault]
}
