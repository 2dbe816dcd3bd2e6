// Package rules holds the framework-free checks of retry behaviour that the
// apitest matchers and the suites share. Each check reads what a fault
// server journaled and returns nil or an error that says, for a human, what
// was expected and what happened.
//
// Checks look at logical requests: the calls a client made for one request
// of its caller, first attempt and retries. See [Requests].
package rules
