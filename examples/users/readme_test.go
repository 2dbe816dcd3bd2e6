package users_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeShowsThisSuite keeps the README's "first suite" section equal
// to the files of this package.
func TestReadmeShowsThisSuite(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"users_suite_test.go", "users_test.go"} {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), "// "+f+"\n"+string(src)+"```") {
			t.Errorf("README.md does not show %s as it is; update the README's first-suite section", f)
		}
	}
}
