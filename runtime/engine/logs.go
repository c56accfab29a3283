package engine

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// logWriters holds one buffered append-only file per Log.write stream
// (loop goroutine only).
type logWriters struct {
	dir            string
	files          map[string]*logFile
	flushScheduled bool
}

type logFile struct {
	f *os.File
	w *bufio.Writer
}

func newLogWriters(dir string) *logWriters {
	return &logWriters{dir: dir, files: map[string]*logFile{}}
}

func (l *logWriters) write(stream, line string) error {
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

func (l *logWriters) flush() error {
	var errs []error
	for name, lf := range l.files {
		if err := lf.w.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("%s.log: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func (l *logWriters) closeAll() {
	_ = l.flush()
	for name, lf := range l.files {
		_ = lf.f.Close()
		delete(l.files, name)
	}
}
