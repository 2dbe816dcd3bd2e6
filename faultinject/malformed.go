package faultinject

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
)

// malformedResponse is what malformed sends: a status line whose code is not
// three digits.
const malformedResponse = "HTTP/1.1 ??? faultinject malformed\r\n\r\n"

// malformed sends a garbage status line and closes the connection.
type malformed struct{}

func init() { register("malformed", malformed{}) }

func (malformed) serve(x *exchange) {
	conn, brw := x.hijack()
	defer conn.Close()
	brw.WriteString(malformedResponse)
	brw.Flush()
}

// mock returns the error net/http's transport gives for the same bytes.
func (malformed) mock(x *exchange) (*http.Response, error) {
	_, err := http.ReadResponse(bufio.NewReader(strings.NewReader(malformedResponse)), x.r)
	return nil, fmt.Errorf("net/http: HTTP/1.x transport connection broken: %w", err)
}
