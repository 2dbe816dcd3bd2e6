//go:build retrylab_testdata && retrylab_toplevel

package repeat

import . "github.com/onsi/ginkgo/v2"

// A setup node outside any container: Ginkgo runs it in the first run of the
// suite only.
var _ = BeforeEach(func() {})
