package globals

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Logs holds one buffered append-only file per Log.write stream, for the
// whole run (used from the goroutine running the loops only).
type Logs struct {
	dir            string
	files          map[string]*logFile
	flushScheduled bool // a flush task is queued on a loop
}

type logFile struct {
	f *os.File
	w *bufio.Writer
}

// NewLogs returns the streams of a run, written under dir.
func NewLogs(dir string) *Logs {
	return &Logs{dir: dir, files: map[string]*logFile{}}
}

func (l *Logs) write(stream, line string) error {
	lf, ok := l.files[stream]
	if !ok {
		if err := os.MkdirAll(l.dir, 0o755); err != nil {
			return fmt.Errorf("log dir: %w", err)
		}
		path := filepath.Join(l.dir, stream+".log")
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("open log: %w", err)
		}
		lf = &logFile{f: f, w: bufio.NewWriterSize(f, 64<<10)}
		l.files[stream] = lf
	}
	if _, err := lf.w.WriteString(line); err != nil {
		return err
	}
	return lf.w.WriteByte('\n')
}

// Flush writes every stream's buffer to its file.
func (l *Logs) Flush() error {
	l.flushScheduled = false // also when the queued flush died with its loop
	var errs []error
	for name, lf := range l.files {
		if err := lf.w.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("%s.log: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Close flushes and closes every stream.
func (l *Logs) Close() {
	_ = l.Flush()
	for name, lf := range l.files {
		_ = lf.f.Close()
		delete(l.files, name)
	}
}
