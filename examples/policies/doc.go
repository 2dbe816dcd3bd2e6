// Package policies holds two retry policy files for `retrylab check`:
// accepted.yaml, the policy last accepted, and regressed.yaml, a change to
// it that makes outages worse. cmd/retrylab's TestCheckShippedPolicies runs
// the gate on them, as a CI job would:
//
//	retrylab check --policy examples/policies/regressed.yaml --baseline examples/policies/accepted.yaml
package policies
