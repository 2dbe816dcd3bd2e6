package suites_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// The three general-purpose retry libraries (retry-go, cenkalti/backoff,
// sethvargo/go-retry) know nothing of HTTP: their READMEs show a request
// made inside the retried function, its body read and closed there, and an
// error returned when the attempt should be retried. The loops below are
// written that way, with one retry condition shared by all three (and by
// resty's): a transport error, a 429 or any 5xx is retried, every other
// answer is final. Their differences are therefore the libraries'.

// sendOnce makes one attempt of req through next, on a fresh clone whose
// body comes from GetBody, and reads and closes the answer's body as the
// READMEs do ("defer resp.Body.Close()"); the response it returns carries
// the bytes read.
func sendOnce(next http.RoundTripper, req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	resp, err := next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// retriedStatus is the loops' retry condition for answers: 429 and every
// 5xx, the condition resty's README shows for statuses.
func retriedStatus(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500
}

// loopRetriedStatuses are the statuses the loops' Promises declare: those
// of retriedStatus that a Promise can state (retrying 501 or 505 stays a
// broken rule).
var loopRetriedStatuses = []int{429, 500, 502, 503, 504}

// answerError is a retried answer, returned as the error the libraries
// retry on; when the retries run out the loop returns its response, as an
// http.RoundTripper returns any status without an error.
type answerError struct{ resp *http.Response }

func (e *answerError) Error() string { return fmt.Sprintf("answered %s", e.resp.Status) }

// closeRequestBody closes the caller's body, which a RoundTripper must do;
// the attempts read copies from GetBody.
func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
