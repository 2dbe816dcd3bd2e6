package faultinject

import (
	"fmt"
	"net/http"

	"github.com/retrylab/retrylab/internal/decode"
)

// hang holds the request until the client gives up or the server closes;
// with its parameter for (Step.For), it then sends the step's response
// instead.
type hang struct{}

func init() { register("hang", hang{}) }

func (hang) params() []string { return []string{"for"} }

func (hang) decodeParam(key string, v decode.Value, st *Step) { st.For = v.Duration(key) }

func (hang) hasParams(st *Step) bool { return st.For != 0 }

func (hang) check(st *Step) string {
	if st.For < 0 {
		return fmt.Sprintf("for %v must not be negative", st.For)
	}
	if st.For > 0 && st.Respond.Status == 0 {
		return `fault "hang" with for needs respond: STATUS (sent once the hang ends)`
	}
	return ""
}

func (hang) serve(x *exchange) {
	if x.step.For > 0 {
		if x.gone(x.wait(x.step.For)) {
			abort()
		}
		x.writeResponse()
		return
	}
	x.gone(x.waitFor(nil))
	abort()
}

func (hang) mock(x *exchange) (*http.Response, error) {
	if x.step.For > 0 {
		if x.gone(x.wait(x.step.For)) {
			return nil, x.ctx.Err()
		}
		return respond{}.mock(x)
	}
	x.gone(x.waitFor(nil))
	return nil, x.ctx.Err()
}

// checkUpstream: a hang with for sends the upstream's response once it
// ends; without for there is nothing to forward.
func (hang) checkUpstream(st *Step) string {
	if st.For <= 0 {
		return `fault "hang" with upstream needs for: DURATION (the upstream's response is sent once the hang ends)`
	}
	return ""
}
