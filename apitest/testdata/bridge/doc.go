// Package bridge holds a Ginkgo suite whose specs fail on purpose. Its test
// file builds only with -tags retrylab_testdata, which apitest's own tests
// pass, so that go test ./... and ginkgo -r (which compiles every package
// with _test.go files, testdata included) find no tests here.
package bridge
