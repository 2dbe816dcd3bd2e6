// Package remote holds a small Ginkgo suite that apitest's own tests run in
// several processes at once against one shared fault server (the URL in
// RETRYLAB_SERVER). Its test files build only with -tags
// retrylab_testdata, so go test ./... and ginkgo -r find no tests here.
package remote
