// Package retryclient is a retrying [net/http.RoundTripper] that retries only
// transient failures, waits with capped, jittered backoff, honours Retry-After,
// replays request bodies byte for byte, and records every attempt.
//
// # Pieces
//
//   - [Policy] is a plain value with documented defaults ([DefaultPolicy]),
//     With… methods that return copies, [Policy.Validate], and strict YAML
//     and JSON forms ([ParsePolicy]).
//   - [Backoff] computes delays as a pure function of the attempt number
//     (decorrelated jitter: of the previous delay) and an injected
//     math/rand/v2 source, so a seed fixes the schedule.
//   - [Policy.Decide] maps an [Outcome] to a [Decision] (retry or stop,
//     delay, [Reason]) without side effects; [Classify] maps errors to an
//     [ErrorClass] with errors.Is/As, net.Error and syscall errors only.
//   - [Transport] (built with [New] or [NewClient]) runs the attempts,
//     reports each as an [Attempt] to [WithObserver] and [WithLogger], and
//     applies the shared [Budget] and [Breaker] options.
//
// # Giving up
//
// When the retries stop and the last attempt produced a response, RoundTrip
// returns that response with a nil error: its status is preserved and its
// body is unread. When the last attempt produced no response, RoundTrip
// returns a [*GiveUpError] whose Unwrap gives the last error, so
// errors.Is(err, context.Canceled) and errors.Is(err, syscall.ECONNREFUSED)
// work through it (and through the *url.Error of an http.Client).
//
// # Virtual time
//
// The package uses only the time and context packages for waiting, so a
// Transport works unchanged inside a testing/synctest bubble: backoff
// sleeps, Retry-After waits and attempt timeouts take no wall time there.
// The server and the underlying transport must then also live in the bubble
// (an in-memory listener over net.Pipe, or httpmock), since loopback
// sockets never block durably.
package retryclient
