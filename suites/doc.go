// Package suites holds reusable Ginkgo suites that check the retry behaviour
// of any *http.Client against fault scenarios.
package suites
