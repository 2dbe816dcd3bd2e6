package faultinject

import (
	"net"
	"net/http"
	"net/netip"
	"os"
	"syscall"
)

// refuse makes the next Times dials fail with ECONNREFUSED. The engine arms
// it when the step becomes current, before the dials it refuses; a request
// that still reaches a refuse step (over a connection opened earlier) is
// closed without a byte.
type refuse struct{}

func init() { register("refuse", refuse{}) }

func (refuse) serve(x *exchange) {
	conn, _ := x.hijack()
	conn.Close()
}

func (refuse) mock(x *exchange) (*http.Response, error) {
	return nil, errRefused("tcp", x.r.URL.Host)
}

// errRefused is the error of a refused dial, as the net package reports one.
func errRefused(network, addr string) error {
	var raddr net.Addr
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		raddr = net.TCPAddrFromAddrPort(ap)
	}
	return &net.OpError{Op: "dial", Net: network, Addr: raddr, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
}
