package retryclient

import (
	"net/http"
	"testing"

	"github.com/retrylab/retrylab/internal/pipenet"
)

// pipeServer is an http.Server on a pipenet.Listener with a client transport
// wired to it. Create and use it inside one synctest bubble; it shuts
// itself down through t.Cleanup.
type pipeServer struct {
	l         *pipenet.Listener
	transport *http.Transport
	URL       string
}

// Transport returns the client transport that dials the server.
func (p *pipeServer) Transport() *http.Transport { return p.transport }

func startPipeServer(t *testing.T, h http.Handler) *pipeServer {
	t.Helper()
	l := pipenet.New("pipe.test:80")
	srv := &http.Server{Handler: h}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(l)
	}()
	tr := &http.Transport{DialContext: l.Dial}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		_ = srv.Close()
		<-served
	})
	return &pipeServer{l: l, transport: tr, URL: "http://pipe.test"}
}
