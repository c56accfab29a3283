package watch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package's run if any test leaves a goroutine behind
// (a watcher not stopped, a notifier not closed).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// session is a Watcher running on a goroutine, its changes on a channel.
type session struct {
	t       *testing.T
	changes chan Change
	seq     int
	dir     string // where sentinels go
}

func watchPaths(t *testing.T, sentinelDir string, paths ...string) *session {
	t.Helper()
	w, err := New(paths, Options{Debounce: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, changes: make(chan Change, 100), dir: sentinelDir}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, func(c Change) { s.changes <- c }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s
}

// next returns the next reported change.
func (s *session) next() Change {
	s.t.Helper()
	select {
	case c := <-s.changes:
		return c
	case <-time.After(10 * time.Second):
		s.t.Fatal("no change reported within 10s")
		return Change{}
	}
}

// quiet proves that nothing more was reported for what happened so far: it
// adds a sentinel script and requires the next change to be exactly that.
// Changes are reported in order, so an extra one would come first.
func (s *session) quiet() {
	s.t.Helper()
	s.seq++
	p := filepath.Join(s.dir, fmt.Sprintf("zz-sentinel-%d.js", s.seq))
	write(s.t, p, "// sentinel")
	c := s.next()
	if !slices.Equal(c.Added, []string{p}) || len(c.Modified)+len(c.Removed) != 0 {
		s.t.Fatalf("expected only the sentinel %s to be added, got %+v", filepath.Base(p), c)
	}
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantChange(t *testing.T, c Change, added, removed, modified []string) {
	t.Helper()
	norm := func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		return s
	}
	if !slices.Equal(norm(c.Added), norm(added)) || !slices.Equal(norm(c.Removed), norm(removed)) || !slices.Equal(norm(c.Modified), norm(modified)) {
		t.Fatalf("change = %+v, want added %v removed %v modified %v", c, added, removed, modified)
	}
}

// realTemp is a temporary directory by its real path (macOS' /var is a
// symlink), so reported paths compare equal.
func realTemp(t *testing.T) string {
	d, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRenameIntoPlace(t *testing.T) {
	dir := realTemp(t)
	a := filepath.Join(dir, "a.js")
	write(t, a, "v1")
	s := watchPaths(t, dir, dir)

	tmp := filepath.Join(dir, ".a.js.tmp-123")
	write(t, tmp, "v2")
	must(t, os.Rename(tmp, a))
	wantChange(t, s.next(), nil, nil, []string{a})
	s.quiet()
}

// Vim with 'backupcopy=no' (the default on most systems): probe the
// directory with "4913", rename the original to a~ backup, write the new
// file, delete the backup. Between those steps the file does not exist.
func TestVimBackupDance(t *testing.T) {
	dir := realTemp(t)
	a := filepath.Join(dir, "a.js")
	write(t, a, "v1")
	s := watchPaths(t, dir, dir)

	write(t, filepath.Join(dir, ".a.js.swp"), "swap")
	probe := filepath.Join(dir, "4913")
	write(t, probe, "")
	must(t, os.Remove(probe))
	must(t, os.Rename(a, a+"~"))
	write(t, a, "v2")
	must(t, os.Remove(a+"~"))
	must(t, os.Remove(filepath.Join(dir, ".a.js.swp")))
	wantChange(t, s.next(), nil, nil, []string{a})
	s.quiet()
}

func TestNewSubdirectoryIsFollowed(t *testing.T) {
	dir := realTemp(t)
	write(t, filepath.Join(dir, "a.js"), "v1")
	s := watchPaths(t, dir, dir)

	x := filepath.Join(dir, "lib", "deep", "x.js")
	write(t, x, "module") // MkdirAll then the file, before any watch exists on them
	wantChange(t, s.next(), []string{x}, nil, nil)
	// The new directories are watched now.
	write(t, x, "module v2")
	wantChange(t, s.next(), nil, nil, []string{x})
	must(t, os.RemoveAll(filepath.Join(dir, "lib")))
	wantChange(t, s.next(), nil, []string{x}, nil)
	s.quiet()
}

// Kubernetes mounts a ConfigMap as: a timestamped directory holding the
// files, a "..data" symlink to it, and one symlink per key through
// "..data". An update writes a new timestamped directory, points a
// "..data_tmp" link at it, renames that over "..data" and deletes the old
// directory: the key symlinks never change.
func TestConfigMapSymlinkSwap(t *testing.T) {
	dir := realTemp(t)
	stage := func(ts, content string) {
		write(t, filepath.Join(dir, ts, "a.js"), content)
		write(t, filepath.Join(dir, ts, "b.js"), "unchanged")
		must(t, os.Symlink(ts, filepath.Join(dir, "..data_tmp")))
		must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	}
	stage("..2026_01_01_00_00_00.1", "v1")
	must(t, os.Symlink("..data/a.js", filepath.Join(dir, "a.js")))
	must(t, os.Symlink("..data/b.js", filepath.Join(dir, "b.js")))
	s := watchPaths(t, realTemp(t), dir)

	stage("..2026_01_01_00_00_01.2", "v2")
	must(t, os.RemoveAll(filepath.Join(dir, "..2026_01_01_00_00_00.1")))
	wantChange(t, s.next(), nil, nil, []string{filepath.Join(dir, "a.js")})

	stage("..2026_01_01_00_00_02.3", "v3")
	must(t, os.RemoveAll(filepath.Join(dir, "..2026_01_01_00_00_01.2")))
	wantChange(t, s.next(), nil, nil, []string{filepath.Join(dir, "a.js")})
}

// A root that is itself a symlink to a release directory, switched
// atomically to another one.
func TestSymlinkedRootSwap(t *testing.T) {
	base := realTemp(t)
	for i, content := range []string{"v1", "v2"} {
		write(t, filepath.Join(base, "releases", fmt.Sprint(i+1), "a.js"), content)
		write(t, filepath.Join(base, "releases", fmt.Sprint(i+1), "lib", "m.js"), "same")
	}
	cur := filepath.Join(base, "current")
	must(t, os.Symlink("releases/1", cur))
	s := watchPaths(t, base, cur)

	must(t, os.Symlink("releases/2", cur+".tmp"))
	must(t, os.Rename(cur+".tmp", cur))
	wantChange(t, s.next(), nil, nil, []string{filepath.Join(cur, "a.js")})
	// The new target is watched, the old one no longer.
	write(t, filepath.Join(base, "releases", "1", "a.js"), "old tree edited")
	write(t, filepath.Join(base, "releases", "2", "lib", "m.js"), "edited")
	wantChange(t, s.next(), nil, nil, []string{filepath.Join(cur, "lib", "m.js")})
}

func TestBurstIsDebouncedIntoOneChange(t *testing.T) {
	dir := realTemp(t)
	a, b := filepath.Join(dir, "a.js"), filepath.Join(dir, "b.js")
	write(t, a, "v0")
	s := watchPaths(t, dir, dir)

	for i := 1; i <= 50; i++ {
		write(t, a, fmt.Sprintf("v%d", i))
		if i == 25 {
			write(t, b, "new")
		}
	}
	wantChange(t, s.next(), []string{b}, nil, []string{a})
	s.quiet()
}

// Events that change no script's content report nothing: the same bytes
// rewritten, a touch, editor files, files that are not scripts.
func TestNoContentChangeReportsNothing(t *testing.T) {
	dir := realTemp(t)
	a := filepath.Join(dir, "a.js")
	write(t, a, "same")
	s := watchPaths(t, dir, dir)

	write(t, a, "same")
	now := time.Now()
	must(t, os.Chtimes(a, now, now))
	must(t, os.Chmod(a, 0o600))
	write(t, filepath.Join(dir, "#a.js#"), "emacs autosave")
	write(t, filepath.Join(dir, ".#a.js"), "emacs lock")
	write(t, filepath.Join(dir, "a.js.swx"), "vim")
	write(t, filepath.Join(dir, "notes.txt"), "not a script")
	write(t, filepath.Join(dir, ".git", "HEAD"), "hidden directory")
	s.quiet()
}

func TestRemovedFile(t *testing.T) {
	dir := realTemp(t)
	a, b := filepath.Join(dir, "a.js"), filepath.Join(dir, "b.js")
	write(t, a, "a")
	write(t, b, "b")
	s := watchPaths(t, dir, dir)
	must(t, os.Remove(b))
	wantChange(t, s.next(), nil, []string{b}, nil)
}

// Tracked files outside the roots (modules required from elsewhere) join
// the baseline with the content the scripts loaded, and are then watched
// like the others.
func TestTrackedFiles(t *testing.T) {
	dir, elsewhere := realTemp(t), realTemp(t)
	main := filepath.Join(dir, "main.js")
	mod := filepath.Join(elsewhere, "mod.js")
	write(t, main, "require('../mod')")
	write(t, mod, "v1")
	w, err := New([]string{main}, Options{Debounce: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	changes := make(chan Change, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, func(c Change) { changes <- c }) }()
	defer func() { cancel(); <-done }()

	w.Track(map[string][]byte{main: []byte("require('../mod')"), mod: []byte("v1")})
	// Tracking is no change; the first change reported is the edit.
	write(t, mod, "v2")
	select {
	case c := <-changes:
		wantChange(t, c, nil, nil, []string{mod})
	case <-time.After(10 * time.Second):
		t.Fatal("tracked file's change not reported")
	}
	// Content loaded earlier than the disk's is a change, even without an
	// event after Track.
	w.Track(map[string][]byte{main: []byte("require('../mod')"), mod: []byte("v1")})
	select {
	case c := <-changes:
		wantChange(t, c, nil, nil, []string{mod})
	case <-time.After(10 * time.Second):
		t.Fatal("stale tracked content not reported")
	}
	// A file root's siblings do not count.
	write(t, filepath.Join(dir, "other.js"), "x")
	write(t, main, "v2")
	select {
	case c := <-changes:
		wantChange(t, c, nil, nil, []string{main})
	case <-time.After(10 * time.Second):
		t.Fatal("root file's change not reported")
	}
}

func TestRunStopsWithoutLeaks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := realTemp(t)
	write(t, filepath.Join(dir, "a.js"), "x")
	for range 5 {
		w, err := New([]string{dir}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx, func(Change) {}) }()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	// A watcher closed without Run releases its notifier too.
	w, err := New([]string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	must(t, w.Close())
}

func TestMissingRootIsAnError(t *testing.T) {
	_, err := New([]string{filepath.Join(t.TempDir(), "nope")}, Options{})
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err = %v", err)
	}
}

func TestIgnored(t *testing.T) {
	for name, want := range map[string]bool{
		"a.js": false, "lib": false, "a.json": false, "swap.js": false,
		".a.js.swp": true, "a.js.swp": true, "a.js.swx": true, "a.js~": true, "4913": true, "5036": true,
		"#a.js#": true, ".#a.js": true, ".hidden": true, "..data": true, "a.js___jb_tmp___": true,
	} {
		if got := Ignored(name); got != want {
			t.Errorf("Ignored(%q) = %v, want %v", name, got, want)
		}
	}
	for path, want := range map[string]bool{"/x/a.js": true, "/x/a.mjs": true, "/x/a.json": true, "/x/a.ts": true, "/x/a.mts": true, "/x/a.cts": true, "/x/a.cjs": true, "/x/a.d.ts": true, "/x/a.txt": false, "/x/.a.js": false, "/x/a.js~": false} {
		if got := DefaultInclude(path); got != want {
			t.Errorf("DefaultInclude(%q) = %v, want %v", path, got, want)
		}
	}
}
