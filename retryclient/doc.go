// Package retryclient is a retrying [net/http.RoundTripper] that retries only
// transient failures, waits with capped, jittered backoff, honours Retry-After,
// replays request bodies byte for byte, and records every attempt.
package retryclient
