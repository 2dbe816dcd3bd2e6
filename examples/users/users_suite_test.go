package users_test

import (
	"testing"

	"github.com/retrylab/retrylab/apitest"
)

func TestUsers(t *testing.T) {
	apitest.RunSpecs(t, "users client")
}
