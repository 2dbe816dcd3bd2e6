// Package protocol holds the names RetryLab's retry client and fault
// server agree on over the wire, so that neither package imports the other
// to share them.
package protocol

// AttemptHeader is the request header that carries the attempt number:
// retryclient stamps it (retryclient.DefaultAttemptHeader) and faultinject's
// journal reads it (faultinject.AttemptHeader).
const AttemptHeader = "Retrylab-Attempt"
