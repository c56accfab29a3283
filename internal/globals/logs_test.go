package globals

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// smallTmpfs mounts a 256 KiB tmpfs for the test, or skips where the test
// may not mount (not root, no mount namespace rights).
func smallTmpfs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v); the disk-full test needs root", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, 0) })
	return dir
}

// A full disk: writes fail with ENOSPC, the log never holds a partial line,
// the lines are kept and written once space is back (issue 12, item 6).
func TestLogsSurviveADiskFull(t *testing.T) {
	dir := smallTmpfs(t)
	filler := filepath.Join(dir, "filler")
	if out, err := exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=4k", "count=1000").CombinedOutput(); err == nil {
		t.Fatalf("dd filled more than the tmpfs holds?\n%s", out)
	}
	logs := NewLogs(dir)
	var report bytes.Buffer
	line := `{"msg":"` + strings.Repeat("x", 1000) + `"}`
	for i := 0; i < 20; i++ {
		if err := logs.write("notice", line); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		logs.FlushReport(&report)
	}
	if !strings.Contains(report.String(), "notice.log") || !strings.Contains(report.String(), "no space left") {
		t.Fatalf("the failure was not reported with the stream's name: %q", report.String())
	}
	if n := strings.Count(report.String(), "\n"); n != 1 {
		t.Errorf("the same failure was reported %d times, want once:\n%s", n, report.String())
	}
	assertWholeLines(t, filepath.Join(dir, "notice.log"))

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := logs.write("notice", line); err != nil {
		t.Fatal(err)
	}
	logs.FlushReport(&report)
	if !strings.Contains(report.String(), "writing again") {
		t.Errorf("the recovery was not reported: %q", report.String())
	}
	logs.Close(&report)
	if got := assertWholeLines(t, filepath.Join(dir, "notice.log")); got != 21 {
		t.Errorf("notice.log holds %d lines after recovery, want all 21", got)
	}
}

func assertWholeLines(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("%s ends in a partial line (%d bytes)", path, len(data))
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(data) == 0 {
		return 0
	}
	for i, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("%s line %d is not JSON: %.40q", path, i+1, l)
		}
	}
	return len(lines)
}
