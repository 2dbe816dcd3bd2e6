// Package repeat holds a small Ginkgo suite that apitest's own tests run with
// go test -count. Its test files build only with -tags retrylab_testdata (the
// one with a top-level node also needs retrylab_toplevel), so go test ./...
// and ginkgo -r find no tests here.
package repeat
