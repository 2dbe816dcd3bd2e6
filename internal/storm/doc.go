// Package storm simulates many clients retrying against a struggling server,
// as a discrete-event simulation driven by the same [retryclient.Policy]
// decision code that the retrying Transport uses. It backs `retrylab storm`.
//
// Two models are provided. The capacity model ([RunCapacity]) sends N logical
// requests at a server that fails every request during an outage window and
// afterwards serves at most a fixed number of requests per second, shedding
// the excess with 503. The OCC model ([RunOCC]) reproduces the setup of the
// AWS Architecture Blog's "Exponential Backoff And Jitter" (2015): N clients
// each update one row once under optimistic concurrency, over a network whose
// one-way delay is |N(10ms, 2ms)|.
//
// Both are deterministic: the same configuration and seed give the same
// numbers.
package storm
