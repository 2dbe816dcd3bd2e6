// Package apitest wires a fault scenario to a retry client in one line and
// provides Gomega matchers and Ginkgo helpers that assert what the client did.
package apitest
