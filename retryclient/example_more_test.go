package retryclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/retrylab/retrylab/retryclient"
)

// Classify sorts an attempt's error by what it means for a retry, using
// errors.Is and errors.As, never the error's text.
func ExampleClassify() {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	fmt.Println(retryclient.Classify(refused))
	fmt.Println(retryclient.Classify(io.ErrUnexpectedEOF))
	fmt.Println(retryclient.Classify(context.Canceled))
	fmt.Println(retryclient.Classify(&net.DNSError{Err: "no such host", Name: "api.invalid", IsNotFound: true}))
	fmt.Println(retryclient.Classify(errors.New("connection reset by peer (only text)")))
	// Output:
	// connection
	// connection
	// canceled
	// dns
	// other
}

// A Budget shared by every request stops retries once more than half of its
// tokens are spent, and refills as requests succeed.
func ExampleNewBudget() {
	b := retryclient.NewBudget(4, 1)
	for range 2 {
		fmt.Println(b.RecordFailure(), b.Tokens())
	}
	b.RecordSuccess()
	fmt.Println(b.AllowRetry(), b.Tokens())
	// Output:
	// true 3
	// false 2
	// true 3
}
