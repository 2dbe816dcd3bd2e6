package faultinject

import (
	"fmt"
	"net"
)

// Listen starts a server playing s on the TCP address addr (such as
// "127.0.0.1:8080", or "127.0.0.1:0" for a free port), in real time, for
// standalone use (`retrylab serve`) and suites in other languages. Unlike
// NewServer it returns an error, naming what was wrong, when s does not
// validate or addr cannot be listened on. The caller must Close the server.
func Listen(addr string, s *Scenario, opts ...Option) (*Server, error) {
	if s == nil {
		return nil, fmt.Errorf("faultinject: Listen: the scenario is nil")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := newConfig(opts).checkConfig(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("faultinject: %w", err)
	}
	return newTCPServer(s, ln, opts), nil
}

// Load replaces the scenario the server plays: scripts start from their
// first step and the journal starts empty (Journal returns the new one).
// Requests in flight finish under the old scenario. Load returns the
// scenario's validation error, if any, and then changes nothing.
func (s *Server) Load(sc *Scenario) error {
	if sc == nil {
		return fmt.Errorf("faultinject: Load: the scenario is nil")
	}
	if err := sc.Validate(); err != nil {
		return err
	}
	s.eng.Store(newConfiguredEngine(sc, s.cfg))
	return nil
}

// Scenario returns the scenario the server plays.
func (s *Server) Scenario() *Scenario {
	return s.eng.Load().sc
}
