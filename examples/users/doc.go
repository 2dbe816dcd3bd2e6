// Package users is a small API client of the kind a team writes, used as the
// worked example of testing retry behaviour with apitest: its suite scripts
// outages with faultinject and asserts what the retrying client did.
package users
