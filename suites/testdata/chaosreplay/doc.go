// Package chaosreplay holds a Ginkgo suite whose chaos sequences fail on
// purpose. Its test file builds only with -tags retrylab_testdata, which
// suites' own tests pass, so that go test ./... and ginkgo -r (which compiles
// every package with _test.go files, testdata included) find no tests here.
package chaosreplay
