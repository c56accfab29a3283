// Package watch reports changes to a tree of script files, robust to the
// way editors and deployment tools really write them.
//
// Events are only hints. The watcher watches directories, never files (an
// editor that saves by writing a temporary file and renaming it over the old
// one would leave a file watch on a deleted inode); it ignores editors'
// temporary, swap and backup files; it waits until a burst of events has
// been quiet for a debounce interval; and then it re-reads the tree and
// compares content hashes with the last snapshot, so it reports a change
// only if a script's content really changed, was added or was removed,
// whatever the event types said. A kernel event queue overflow just causes
// a rescan. Directories that appear are walked and watched; symlinked
// directories and files are followed, and the directories above the roots
// are watched too, so swapping a symlink (Kubernetes' ConfigMap volumes swap
// a "..data" symlink; release directories swap a "current" link) is noticed.
package watch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Options configure a Watcher.
type Options struct {
	// Debounce is how long the tree must be quiet after an event before it
	// is re-read (default 100 ms).
	Debounce time.Duration
	// MaxDelay bounds how long a continuous stream of events can put the
	// re-read off (default 1 s).
	MaxDelay time.Duration
	// Include reports whether a file found under a root directory counts
	// (default DefaultInclude). Files given as roots always count.
	Include func(path string) bool
	// Logger receives watch errors (default slog.Default()).
	Logger *slog.Logger
}

// DefaultInclude counts script and module files (.js, .cjs, .mjs, .ts,
// .mts, .cts, .json) that are not editor temporaries.
func DefaultInclude(path string) bool {
	if Ignored(filepath.Base(path)) {
		return false
	}
	switch filepath.Ext(path) {
	case ".js", ".cjs", ".mjs", ".ts", ".mts", ".cts", ".json":
		return true
	}
	return false
}

// Ignored reports whether a file or directory name is hidden or belongs to
// an editor's save dance: dot-files (also vim's .x.swp and emacs' .#x
// locks), vim's swap files (.swp, .swx, ...) and its "4913"-style write
// probes, backups ending in "~", emacs' #autosave# files and JetBrains'
// ___jb_tmp___ / ___jb_old___ files.
func Ignored(name string) bool {
	switch {
	case name == "", strings.HasPrefix(name, "."), strings.HasSuffix(name, "~"):
		return true
	case strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"):
		return true
	case strings.HasSuffix(name, "___jb_tmp___"), strings.HasSuffix(name, "___jb_old___"):
		return true
	case allDigits(name):
		return true
	}
	if ext := filepath.Ext(name); len(ext) == 4 && strings.HasPrefix(ext, ".sw") && ext[3] >= 'a' && ext[3] <= 'z' {
		return true
	}
	return false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Change is a verified change of the watched files (absolute paths as they
// appear under the roots, sorted).
type Change struct {
	Added, Removed, Modified []string
}

// String summarizes the change, e.g. "modified a.js; added lib/x.js", with
// paths relative to the working directory where that is shorter.
func (c Change) String() string {
	wd, _ := os.Getwd()
	short := func(p string) string {
		if wd != "" {
			if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
				return r
			}
		}
		return p
	}
	var parts []string
	for _, g := range []struct {
		verb  string
		paths []string
	}{{"modified", c.Modified}, {"added", c.Added}, {"removed", c.Removed}} {
		if len(g.paths) == 0 {
			continue
		}
		names := make([]string, len(g.paths))
		for i, p := range g.paths {
			names[i] = short(p)
		}
		parts = append(parts, g.verb+" "+strings.Join(names, ", "))
	}
	return strings.Join(parts, "; ")
}

func (c Change) empty() bool { return len(c.Added)+len(c.Removed)+len(c.Modified) == 0 }

// Watcher watches script roots (files and directories). Create it with New,
// then call Run (or Close) exactly once.
//
// Concurrency: Track and Close are safe from any goroutine; Run owns the
// rest of the state.
type Watcher struct {
	opts  Options
	roots []root
	fsw   *fsnotify.Watcher

	// Run-goroutine state (New's before Run).
	snap      map[string]fileState
	watched   map[string]bool     // directories with a watch, by real path
	treeDirs  map[string]bool     // watched directories whose entries count
	rootNames map[string][]string // a root's parent directory → the roots' names in it

	mu       sync.Mutex
	tracked  map[string][sha256.Size]byte // path → content hash the scripts loaded
	trackNew chan struct{}                // cap 1: Track happened

	closeOnce sync.Once
	closeErr  error
}

type root struct {
	path string // absolute, as given: may be or contain a symlink
	dir  bool
}

// fileState is what a snapshot keeps of a file: its content hash, and the
// stat stamp that lets a rescan skip re-reading a file whose stamp has not
// changed (unless it changed recently, when a write within the file
// system's timestamp granularity could hide behind an equal stamp).
type fileState struct {
	size  int64
	mtime time.Time
	sum   [sha256.Size]byte
}

// racyWindow is how recent a modification time must be for a rescan to
// re-read a file even though its stamp looks unchanged.
const racyWindow = 2 * time.Second

// New starts watching paths (script files or directories): it takes the
// baseline snapshot and installs the directory watches before it returns,
// so any change made after New returns is reported by Run.
func New(paths []string, opts Options) (*Watcher, error) {
	if opts.Debounce <= 0 {
		opts.Debounce = 100 * time.Millisecond
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = time.Second
	}
	opts.MaxDelay = max(opts.MaxDelay, opts.Debounce)
	if opts.Include == nil {
		opts.Include = DefaultInclude
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	w := &Watcher{
		opts:     opts,
		snap:     map[string]fileState{},
		watched:  map[string]bool{},
		tracked:  map[string][sha256.Size]byte{},
		trackNew: make(chan struct{}, 1),
	}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("watch %s: %w", p, err)
		}
		st, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("watch: %w", err)
		}
		w.roots = append(w.roots, root{path: abs, dir: st.IsDir()})
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	w.fsw = fsw
	snap := w.scan()
	w.snap = snap
	return w, nil
}

// Track tells the watcher which files the running scripts were loaded from
// and with what content (path → content), replacing the previous set.
// Files outside the roots (modules required from elsewhere) are watched
// from then on. The given content becomes the baseline, so a file that
// changed on disk between its load and this call is reported as changed
// (Run rescans after each Track); tracking itself is not a change.
func (w *Watcher) Track(files map[string][]byte) {
	sums := make(map[string][sha256.Size]byte, len(files))
	for p, data := range files {
		sums[p] = sha256.Sum256(data)
	}
	w.mu.Lock()
	w.tracked = sums
	w.mu.Unlock()
	select {
	case w.trackNew <- struct{}{}:
	default:
	}
}

// Close releases the watcher's resources. Run calls it when it returns.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() { w.closeErr = w.fsw.Close() })
	return w.closeErr
}

// Run reports verified changes to onChange (called on Run's goroutine) until
// ctx ends, then closes the watcher. It returns an error only if the
// underlying notifier stops by itself.
func (w *Watcher) Run(ctx context.Context, onChange func(Change)) error {
	defer w.Close()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	pending := false
	var first time.Time
	schedule := func() {
		now := time.Now()
		if !pending {
			pending, first = true, now
		}
		timer.Reset(max(min(w.opts.Debounce, w.opts.MaxDelay-now.Sub(first)), 0))
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return errors.New("watch: notifier closed")
			}
			if w.relevant(ev) {
				schedule()
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return errors.New("watch: notifier closed")
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.opts.Logger.Warn("watch: event queue overflowed; rescanning", "error", err)
			} else {
				w.opts.Logger.Warn("watch: notifier error; rescanning", "error", err)
			}
			schedule()
		case <-w.trackNew:
			w.applyTracked()
			schedule()
		case <-timer.C:
			pending = false
			next := w.scan()
			if c := diff(w.snap, next); !c.empty() {
				w.snap = next
				onChange(c)
			} else {
				w.snap = next // same contents; keeps the fresher stamps
			}
		}
	}
}

// relevant reports whether an event may concern a watched file. A watched
// directory that goes away loses its watch; the rescan re-adds it if it
// comes back.
func (w *Watcher) relevant(ev fsnotify.Event) bool {
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		delete(w.watched, ev.Name)
	}
	dir, name := filepath.Dir(ev.Name), filepath.Base(ev.Name)
	if w.treeDirs[dir] && (!Ignored(name) || strings.HasPrefix(name, "..")) {
		return true // ".." names: Kubernetes' atomic writer ("..data")
	}
	return slices.Contains(w.rootNames[dir], name)
}

// applyTracked makes the tracked contents the baseline of their files and
// forgets files neither tracked nor found under the roots (Run goroutine).
// The caller rescans afterwards, so a difference on disk is reported.
func (w *Watcher) applyTracked() {
	w.mu.Lock()
	tracked := w.tracked
	w.mu.Unlock()
	next := w.scan()
	for p := range w.snap {
		if _, has := next[p]; !has {
			if _, ok := tracked[p]; !ok {
				delete(w.snap, p)
			}
		}
	}
	for p, sum := range tracked {
		// No stamp: the next scan re-reads the file and compares.
		w.snap[p] = fileState{size: -1, sum: sum}
	}
}

// scan reads the tree: every counted file under the roots and the tracked
// files, hashed (reusing the previous hash of a file whose stamp has not
// changed). It also brings the directory watches up to date.
func (w *Watcher) scan() map[string]fileState {
	s := scanner{w: w, snap: map[string]fileState{}, dirs: map[string]bool{}, visited: map[string]bool{}}
	rootNames := map[string][]string{}
	for _, r := range w.roots {
		parent := realDir(filepath.Dir(r.path))
		rootNames[parent] = append(rootNames[parent], filepath.Base(r.path))
		if r.dir {
			s.walk(r.path)
		} else {
			s.file(r.path, rooted)
		}
	}
	w.mu.Lock()
	trackedFiles := make([]string, 0, len(w.tracked))
	for p := range w.tracked {
		trackedFiles = append(trackedFiles, p)
	}
	w.mu.Unlock()
	for _, p := range trackedFiles {
		if _, ok := s.snap[p]; !ok {
			s.file(p, tracked)
		}
	}
	w.treeDirs, w.rootNames = s.dirs, rootNames
	want := make(map[string]bool, len(s.dirs)+len(rootNames))
	for d := range s.dirs {
		want[d] = true
	}
	for d := range rootNames {
		want[d] = true
	}
	for d := range want {
		if w.watched[d] {
			continue
		}
		if err := w.fsw.Add(d); err != nil {
			// Gone again already; its parent's events bring a rescan.
			w.opts.Logger.Debug("watch: cannot watch directory", "dir", d, "error", err)
			continue
		}
		w.watched[d] = true
	}
	for d := range w.watched {
		if !want[d] {
			_ = w.fsw.Remove(d) // fails if it is gone, which is fine
			delete(w.watched, d)
		}
	}
	return s.snap
}

// scanner is one rescan's walk.
type scanner struct {
	w       *Watcher
	snap    map[string]fileState
	dirs    map[string]bool // real paths of the directories to watch
	visited map[string]bool // real paths walked (symlink cycles)
}

// walk adds the counted files under dir (a path as seen from its root,
// possibly through symlinks) and the directories to watch.
func (s *scanner) walk(dir string) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil || s.visited[real] {
		return
	}
	s.visited[real] = true
	s.dirs[real] = true
	entries, err := os.ReadDir(dir)
	if err != nil {
		return // vanished while walking: the next event brings a rescan
	}
	for _, ent := range entries {
		name := ent.Name()
		if Ignored(name) {
			continue // also "..data" and its timestamped target: reached via the links
		}
		p := filepath.Join(dir, name)
		st, err := os.Stat(p) // follows symlinks
		if err != nil {
			continue // a dangling link, or gone
		}
		if st.IsDir() {
			s.walk(p)
			continue
		}
		if st.Mode().IsRegular() && s.w.opts.Include(p) {
			s.file(p, walked)
		}
	}
}

// How a file came to be scanned.
type fileKind int

const (
	walked  fileKind = iota // found under a root directory (already included)
	rooted                  // a root itself (its parent is watched by name)
	tracked                 // tracked from outside the roots
)

// file hashes one file into the snapshot. A symlinked file also has the
// directory of its target watched, so edits made in place there are seen;
// a tracked file has its own directory watched.
func (s *scanner) file(p string, kind fileKind) {
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() {
		return
	}
	if lst, err := os.Lstat(p); err == nil && lst.Mode()&fs.ModeSymlink != 0 {
		if target, err := filepath.EvalSymlinks(p); err == nil {
			s.dirs[filepath.Dir(target)] = true
		}
	} else if kind == tracked {
		s.dirs[realDir(filepath.Dir(p))] = true
	}
	cur := fileState{size: st.Size(), mtime: st.ModTime()}
	if prev, ok := s.w.snap[p]; ok && prev.size == cur.size && prev.mtime.Equal(cur.mtime) && time.Since(cur.mtime) > racyWindow {
		cur.sum = prev.sum
	} else {
		data, err := os.ReadFile(p)
		if err != nil {
			return
		}
		cur.size = int64(len(data))
		cur.sum = sha256.Sum256(data)
	}
	s.snap[p] = cur
}

func realDir(d string) string {
	if r, err := filepath.EvalSymlinks(d); err == nil {
		return r
	}
	return d
}

// diff compares two snapshots by content.
func diff(prev, next map[string]fileState) Change {
	var c Change
	for p, st := range next {
		old, ok := prev[p]
		switch {
		case !ok:
			c.Added = append(c.Added, p)
		case !bytes.Equal(old.sum[:], st.sum[:]):
			c.Modified = append(c.Modified, p)
		}
	}
	for p := range prev {
		if _, ok := next[p]; !ok {
			c.Removed = append(c.Removed, p)
		}
	}
	slices.Sort(c.Added)
	slices.Sort(c.Removed)
	slices.Sort(c.Modified)
	return c
}
