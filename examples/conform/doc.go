// Package conform holds external subjects of retrylab conform: clients in
// other languages (and a Go control), each a short script that performs
// one request described by the RETRYLAB_ environment variables (see
// suites.Exec) and a promise.yaml saying what the client documents. Its
// tests run each against every rule of suites.Rules and pin the results
// that docs/compat.md reports.
//
//	retrylab conform --exec 'python3 examples/conform/python-requests/client.py' \
//		--promise examples/conform/python-requests/promise.yaml
package conform
