package globals

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// maxPendingLog bounds what one stream may hold in memory while its file
// cannot be written (a full disk): past it, Log.write throws instead of
// accepting more.
const maxPendingLog = 4 << 20

// Logs holds one append-only file per Log.write stream, for the whole run
// (used from the goroutine running the loops only).
//
// Lines are buffered whole and written at the end of a loop turn. A write
// that fails part way (ENOSPC, EDQUOT) is undone by truncating the file
// back to where it was, so a log never ends in a cut-off line; the lines
// stay buffered and the next flush tries again, so writing resumes once
// space is back.
type Logs struct {
	dir            string
	files          map[string]*logFile
	flushScheduled bool   // a flush task is queued on a loop
	failing        string // the failure last reported by FlushReport, "" when writing
}

type logFile struct {
	f    *os.File
	size int64  // bytes known to be in the file: a whole number of lines
	buf  []byte // whole lines not yet written
	err  error  // the last flush's failure, until a flush succeeds
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
		st, err := f.Stat()
		if err != nil {
			_ = f.Close()
			return fmt.Errorf("open log: %w", err)
		}
		lf = &logFile{f: f, size: st.Size()}
		l.files[stream] = lf
	}
	if lf.err != nil && len(lf.buf) >= maxPendingLog {
		if err := lf.flush(); err != nil {
			return fmt.Errorf("%s.log: %w (%d bytes waiting; the line was not written)", stream, err, len(lf.buf))
		}
	}
	lf.buf = append(lf.buf, line...)
	lf.buf = append(lf.buf, '\n')
	return nil
}

// flush writes the buffered lines; on failure it truncates what it wrote
// and keeps them.
func (lf *logFile) flush() error {
	if len(lf.buf) == 0 {
		return nil
	}
	n, err := lf.f.Write(lf.buf)
	if err != nil {
		if n > 0 {
			if terr := lf.f.Truncate(lf.size); terr != nil {
				err = errors.Join(err, fmt.Errorf("removing the partial line: %w", terr))
			}
		}
		lf.err = err
		return err
	}
	lf.size += int64(n)
	lf.buf = lf.buf[:0]
	lf.err = nil
	return nil
}

// Flush writes every stream's buffered lines to its file.
func (l *Logs) Flush() error {
	l.flushScheduled = false // also when the queued flush died with its loop
	var errs []error
	for name, lf := range l.files {
		if err := lf.flush(); err != nil {
			errs = append(errs, fmt.Errorf("%s.log: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// FlushReport flushes and reports on w only changes: the first failure
// (naming the stream and the reason) and the recovery, not a line per
// failed attempt.
func (l *Logs) FlushReport(w io.Writer) {
	err := l.Flush()
	switch {
	case err != nil && err.Error() != l.failing:
		l.failing = err.Error()
		fmt.Fprintf(w, "Log.write: %v; lines are kept in memory and retried\n", err)
	case err == nil && l.failing != "":
		l.failing = ""
		fmt.Fprintln(w, "Log.write: writing again; no line was lost")
	}
}

// Close flushes and closes every stream, reporting on w lines that could
// not be written.
func (l *Logs) Close(w io.Writer) {
	if err := l.Flush(); err != nil {
		fmt.Fprintf(w, "Log.write: lines lost at exit: %v\n", err)
	}
	for name, lf := range l.files {
		_ = lf.f.Close()
		delete(l.files, name)
	}
}
