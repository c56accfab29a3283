package tests

import (
	"os/exec"
	"strings"
	"testing"
)

// TestEmbedExample runs the Go embedding example as a user would.
func TestEmbedExample(t *testing.T) {
	cmd := exec.Command("go", "run", "./examples/embed")
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run ./examples/embed: %v\n%s", err, out)
	}
	want := "alice reached 3 failed logins\ncarol reached 3 failed logins\n"
	if string(out) != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out, want)
	}
	if strings.Contains(string(out), "bob") {
		t.Fatal("bob flagged")
	}
}
