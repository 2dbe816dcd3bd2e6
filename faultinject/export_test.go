package faultinject

import "net/http"

// ServeAdminForTest exposes the admin handler to the external tests.
func (s *Server) ServeAdminForTest(w http.ResponseWriter, r *http.Request) { s.serveAdmin(w, r) }
