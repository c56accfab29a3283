package input

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
	"time"
)

// Default option values.
const (
	DefaultPollInterval = 100 * time.Millisecond
	DefaultBatchSize    = 512
	DefaultMaxLineSize  = 16 << 20
)

// Options configure a [Reader]. The zero value reads a file once, in
// batches of [DefaultBatchSize].
type Options struct {
	// Follow keeps reading as the file grows, like tail -F: it survives
	// rotation (the file renamed or removed and a new one created at the
	// path) and truncation (the size shrinking below what was read, after
	// which reading restarts from the start). Standard input and other
	// non-regular files end at their EOF even with Follow. A gzip file is
	// read to its end and then only watched for replacement or truncation.
	//
	// The path is looked at every PollInterval, and only once the file
	// being read has been read to its end; a new file at the path is
	// opened at once, then the rest of the old one is read. A file that is
	// created at the path and replaced again between two looks is never
	// seen: its records are lost. On Linux the reader counts the files
	// created at the path (inotify on its directory) and reports such
	// missed rotations through OnWarning and Stats.RotationsMissed;
	// elsewhere it reports only a file replaced between its Stat and its
	// Open. A truncation followed by writes past the old size before the
	// next look (copytruncate rotation with a fast writer) is not
	// detected: reading goes on at the old offset.
	Follow bool
	// PollInterval is how often a followed file is checked for growth,
	// rotation and truncation; default [DefaultPollInterval].
	PollInterval time.Duration
	// BatchSize is the number of events per batch; default
	// [DefaultBatchSize]. A smaller batch is sent whenever the reader
	// reaches the current end of its input.
	BatchSize int
	// Stdin is read for Path "-"; default os.Stdin. The reader never
	// closes it.
	Stdin io.Reader
	// OnBadRecord, if not nil, is called for skipped records with the
	// file (as given), a 1-based line number and a short reason. It is
	// called for the first skipped record with a given reason; later ones
	// with the same reason (a corrupt file repeats a handful of reasons
	// thousands of times) are counted and reported together, once, with a
	// [*RepeatedError] (see [RepeatedError]): when the reader reaches the
	// end of the input or of a rotated file, when Run returns, and while
	// following at most every minute. Stats.Skipped counts every skipped
	// record. It is called from the goroutine running [Reader.Run].
	OnBadRecord func(file string, line int, err error)
	// OnWarning, if not nil, is called with the file (as given), a 1-based
	// line number (0 when the warning is not about one line) and a
	// message, for problems that skip no record: a type in a Zeek log's
	// #types line that the reader does not know (read as strings; warned
	// once per type per file), rotations of a followed file that were
	// missed. It is called from the goroutine running [Reader.Run].
	OnWarning func(file string, line int, msg string)
	// MaxLineSize is the longest line accepted, in bytes; a longer line is
	// skipped as a bad record. Default [DefaultMaxLineSize] (16 MiB).
	MaxLineSize int
}

// Event is one record ready to fire.
type Event struct {
	// Name is the event: Spec.Event, else the record's "_path" string
	// field, else (Zeek TSV) the "#path" header's value.
	Name   string
	Record *Record
	// TS is the record's "ts" as epoch seconds (from a number, or a string
	// holding ISO-8601 time or a number); 0 if it has none. A record whose
	// ts is present but not a time from 1970 to the end of year 9999 (in
	// milliseconds, say) is a bad record, never an event.
	TS   float64
	File string // the path as given in the Spec; for a stream, see Line
	// Line is the 1-based line number in the file. A stream record is
	// named "STREAM:SEQUENCE", like a file's "FILE:LINE": for JetStream,
	// File is nats://HOST:PORT/STREAM and Line the stream sequence; for
	// Redis, whose entry IDs are not numbers, File is the whole name
	// (redis://HOST:PORT/KEY:ID) and Line is 0.
	Line int
	// Ack, set for stream records, acknowledges the record to its stream.
	// The engine calls it once every handler of the record has settled
	// (promises included) or failed; it may be called from any goroutine,
	// more than once (later calls do nothing), and must not block. Nil
	// for file records.
	Ack func()
	// Release, when set, gives a stream record back to its stream
	// unacknowledged, for redelivery now: the engine calls it for a record
	// whose handlers were cut off (their runtime was interrupted or
	// abandoned) rather than settled. Like Ack, any goroutine, idempotent,
	// never blocks; after Ack (or Release) it does nothing. Nil: the
	// record is redelivered after the stream's redelivery time.
	Release func()
}

// Stats are a Reader's counters.
type Stats struct {
	Records   int64 // records sent in batches
	Skipped   int64 // bad records skipped
	BytesRead int64 // bytes read from the file (compressed bytes for gzip), across rotations
	Size      int64 // size of the file being read, 0 if unknown (stdin, pipes); with BytesRead, a progress measure

	Warnings        int64 // warnings issued, whether or not Options.OnWarning is set
	RotationsMissed int64 // rotations of a followed file whose files could not be read

	// Stream inputs only (Stream is true): this process's share, and the
	// group's position in the stream as last polled (every few seconds).
	Stream      bool
	Acked       int64  // records acknowledged (bad records included)
	Unacked     int64  // records delivered to this process and not yet acknowledged
	Redelivered int64  // records received that had been delivered before (to any process)
	Reconnects  int64  // connections to the server lost and re-established
	Lag         int64  // records in the stream not yet delivered to the group; -1 unknown
	Pending     int64  // records delivered to the group's processes and not yet acknowledged; -1 unknown
	Group       string // the consumer group (Redis) or durable consumer (JetStream)
	Consumer    string // this process's name: its Redis consumer, its NATS connection's name ("scriptd " + it)
}

// Reader reads the records of one [Spec].
//
// Lifecycle: [Open] opens the file (a regular one; anything else, such as a
// named pipe whose open waits for a writer, is only looked at by Open and
// opened by Run); [Reader.Run] reads it and closes it when it returns. Run
// may be called once. A Reader whose Run is never called must be closed
// with [Reader.Close]; Close must not be called while Run is running
// (cancel Run's context instead). [Reader.Stats] and [Reader.Err] are safe
// to call from any goroutine at any time.
type Reader struct {
	spec Spec
	opts Options

	file      *os.File    // nil for stdin, before Run opens it, and after Close
	fi        os.FileInfo // identity of file, for rotation checks
	st        *stream     // prepared by Open for regular files
	openInRun bool        // Run opens the file (not a regular file: a pipe, say)

	json *JSONParser
	c    *caches

	// Parsing ahead (see parseAhead): the helpers to use, and, once a
	// stream is read ahead, the helpers and blocks. Run's goroutine only.
	aheadHelpers int
	ahead        *parseAhead

	started atomic.Bool
	closed  atomic.Bool
	err     atomic.Pointer[error] // what Run failed with, for Err

	// Bad records already reported, by reason, to collapse repeats; used
	// by Run's goroutine only.
	reps        map[string]*repeat
	repOrder    []*repeat
	repSince    time.Time     // when reps was last flushed
	repeatEvery time.Duration // how often a followed file's repeats are flushed

	// Rotations of a followed file; used by Run's goroutine only.
	rot        *rotWatch        // counts the files created at the path; nil if none
	createdAt  int64            // files created at the path, as rot counted them
	opened     int64            // files opened after rotations
	missedSeen int64            // rotations reported missed
	pollC      <-chan time.Time // for tests: polls instead of a ticker's

	records         atomic.Int64
	skipped         atomic.Int64
	bytesRead       atomic.Int64
	size            atomic.Int64
	warnings        atomic.Int64
	rotationsMissed atomic.Int64
}

// Open opens spec's file (or, for Path "-", prepares to read Options.Stdin)
// and detects its compression. Errors name the file, as in
// "open input dns.json: no such file or directory".
func Open(spec Spec, opts Options) (*Reader, error) {
	if spec.Path == "" {
		return nil, errors.New("open input: empty path")
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.MaxLineSize <= 0 {
		opts.MaxLineSize = DefaultMaxLineSize
	}
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}
	c := newCaches()
	r := &Reader{spec: spec, opts: opts, c: c, json: newJSONParser(c), repeatEvery: repeatFlushInterval, aheadHelpers: aheadHelpers()}
	if spec.Path == "-" {
		return r, nil
	}
	// Opening a named pipe blocks until a writer opens it, so only Run,
	// on the reader's own goroutine, opens what is not a regular file.
	fi, err := os.Stat(spec.Path)
	if err != nil {
		return nil, openError(spec.Path, err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("open input %s: is a directory", spec.Path)
	}
	if !fi.Mode().IsRegular() {
		r.fi, r.openInRun = fi, true
		return r, nil
	}
	f, err := os.Open(spec.Path)
	if err != nil {
		return nil, openError(spec.Path, err)
	}
	fi, err = f.Stat()
	if err != nil {
		f.Close()
		return nil, openError(spec.Path, err)
	}
	if fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("open input %s: is a directory", spec.Path)
	}
	r.file, r.fi = f, fi
	if fi.Mode().IsRegular() {
		r.size.Store(fi.Size())
		// Peeking at a regular file cannot block, so a damaged gzip header
		// is reported now.
		st, err := r.newStream(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("open input %s: %w", spec.Path, err)
		}
		r.st = st
	}
	return r, nil
}

func openError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("open input %s: %w", path, err)
}

// Spec returns the spec the reader was opened with.
func (r *Reader) Spec() Spec { return r.spec }

// Stats returns the reader's counters. Safe from any goroutine.
func (r *Reader) Stats() Stats {
	return Stats{
		Records:  r.records.Load(),
		Skipped:  r.skipped.Load(),
		Warnings: r.warnings.Load(),

		RotationsMissed: r.rotationsMissed.Load(),
		BytesRead:       r.bytesRead.Load(),
		Size:            r.size.Load(),
	}
}

// Close closes the file if the reader opened one and Run has not already
// closed it. It never closes Options.Stdin. See [Reader] for when it may be
// called.
func (r *Reader) Close() error {
	if !r.closed.CompareAndSwap(false, true) {
		return nil
	}
	if r.file == nil {
		return nil
	}
	err := r.file.Close()
	r.file = nil
	return err
}

// Run reads until the end of the input, or, with Options.Follow, until ctx
// is done, sending batches of events on out. A send blocks while out is
// full, which holds the reader back (backpressure): it runs at most one
// batch ahead of what out has room for. The receiver owns each batch it
// receives.
//
// Run returns nil at the end of the input, ctx.Err() when ctx is done, and
// a wrapped error when reading fails (after sending the records read before
// the failure). It closes the file it opened, never out or Options.Stdin.
// Run may be called only once.
//
// Cancellation is noticed while waiting to send, between polls of a
// followed file, every 1024 lines, and while opening or reading a named
// pipe (a FIFO, which Run opens: see [Open]); a Read blocked on standard
// input cannot be interrupted, so Run returns only once it returns.
//
// A failure is also kept for [Reader.Err]; bad records reported as a count
// (see [Options.OnBadRecord]) are reported before Run returns.
//
// With Follow, a last line without its "\n" is held back until the line is
// completed, the file is rotated, or Run ends (then it is dropped).
func (r *Reader) Run(ctx context.Context, out chan<- []Event) error {
	if out == nil {
		return errors.New("input: Run with a nil channel")
	}
	if !r.started.CompareAndSwap(false, true) {
		return fmt.Errorf("input %s: Run called twice", r.spec.Path)
	}
	if r.closed.Load() {
		return fmt.Errorf("input %s: reader closed", r.spec.Path)
	}
	defer r.Close()
	r.repSince = time.Now()
	defer func() {
		if r.ahead != nil {
			r.ahead.stop()
		}
	}()
	err := r.run(ctx, out)
	r.flushRepeats()
	if err != nil && ctx.Err() == nil {
		r.err.Store(&err)
	}
	return err
}

// Err returns the error that made [Reader.Run] fail: a [*ReadError] when
// reading the input failed (a truncated or corrupt gzip file, say), or the
// error opening a named pipe; nil while Run runs, and when it ended at the
// end of the input or because its context was done. The engine should
// treat a non-nil Err as a failed run. Safe from any goroutine.
func (r *Reader) Err() error {
	if p := r.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (r *Reader) run(ctx context.Context, out chan<- []Event) error {
	if r.openInRun {
		f, err := openCancelable(ctx, r.spec.Path)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return openError(r.spec.Path, err)
		}
		r.file = f
		if fi, err := f.Stat(); err == nil {
			r.fi = fi
		}
		// A pipe's reads wait in Go's poller, so a deadline ends them.
		stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Now()) })
		defer stop()
	}
	e := &emitter{ctx: ctx, out: out, size: r.opts.BatchSize, r: r}
	st := r.st
	r.st = nil
	if st == nil {
		var src io.Reader = r.opts.Stdin
		if r.file != nil {
			src = r.file
		}
		var err error
		if st, err = r.newStream(src); err != nil {
			return r.readError(nil, err)
		}
	}
	follow := r.opts.Follow && r.file != nil && r.fi.Mode().IsRegular()
	var tickC <-chan time.Time
	if follow {
		tickC = r.pollC
		if tickC == nil {
			tick := time.NewTicker(r.opts.PollInterval)
			defer tick.Stop()
			tickC = tick.C
		}
		r.rot = newRotWatch(r.spec.Path)
		defer func() { r.rot.close() }()
	}
	for {
		if err := r.drain(e, st); err != nil {
			return r.fail(e, st, err)
		}
		if !follow {
			if err := r.finish(e, st); err != nil {
				return r.fail(e, st, err)
			}
			return e.flush()
		}
		// At the current end of the file: hand over what we have, then
		// wait for more.
		if err := e.flush(); err != nil {
			return err
		}
		if time.Since(r.repSince) >= r.repeatEvery {
			r.flushRepeats()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tickC:
		}
		next, err := r.check(e, st)
		if err != nil {
			return r.fail(e, st, err)
		}
		st = next
	}
}

// fail sends what has been read before a failure of st and returns the
// error to report: ctx's error once ctx is done, else err as a ReadError.
func (r *Reader) fail(e *emitter, st *stream, err error) error {
	if ctxErr := e.ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if ferr := e.flush(); ferr != nil {
		return ferr
	}
	return r.readError(st, err)
}

func (r *Reader) readError(st *stream, err error) error {
	line := 0
	if st != nil {
		line = st.lineNo
	}
	return &ReadError{File: r.spec.Path, Line: line, Err: err}
}

// ReadError is the error of a Reader whose input could not be read to its
// end: the file (as given), the number of its lines read before the
// failure, and the cause.
type ReadError struct {
	File string
	Line int // lines read completely before the failure
	Err  error
}

func (e *ReadError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("read input %s, at its start: %v", e.File, e.Err)
	}
	return fmt.Sprintf("read input %s, after line %d: %v", e.File, e.Line, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// check looks at the followed path after reaching the end of the file and
// returns the stream to go on with: a new one if the file was rotated or
// truncated, else st.
func (r *Reader) check(e *emitter, st *stream) (*stream, error) {
	r.countRotations()
	fi, err := os.Stat(r.spec.Path)
	if err != nil {
		// Removed (or renamed away) and not recreated yet: keep reading
		// the old file, which a writer may still be appending to.
		return st, nil
	}
	if os.SameFile(fi, r.fi) {
		r.size.Store(fi.Size())
		if fi.Size() >= st.count.n {
			return st, nil
		}
		// Truncated: start again from the beginning.
		if _, err := r.file.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		r.flushRepeats()
		return r.newStream(r.file)
	}
	// Rotated. Open the new file first, so that it cannot be replaced
	// again while the rest of the old one is read.
	nf, err := os.Open(r.spec.Path)
	if err != nil {
		return st, nil // gone again; retry at the next poll
	}
	nfi, err := nf.Stat()
	if err != nil || !nfi.Mode().IsRegular() || os.SameFile(nfi, r.fi) {
		nf.Close()
		return st, nil
	}
	if !os.SameFile(nfi, fi) && r.rot == nil {
		// The file Stat saw was replaced before it could be opened. (With
		// a rotation watch, countRotations counts it.)
		r.missRotations(1, fmt.Sprintf("the file at the path was replaced before it could be opened; it held %d bytes", fi.Size()))
	}
	// Read what was appended to the old file before the switch.
	if err := r.drain(e, st); err != nil {
		nf.Close()
		return nil, err
	}
	if err := r.finish(e, st); err != nil {
		nf.Close()
		return nil, err
	}
	r.file.Close()
	r.file, r.fi = nf, nfi
	r.opened++
	r.size.Store(nfi.Size())
	r.flushRepeats()
	r.countRotations()
	return r.newStream(nf)
}

// countRotations counts the files created at the followed path and, when
// the path shows the file being read, reports those that were never
// opened: each was replaced by the next before a poll could see it. (A
// file created after the events were read would show at the path instead
// of the file being read, so then every creation counted is of a file
// opened or missed.)
func (r *Reader) countRotations() {
	if r.rot == nil {
		return
	}
	n, lost := r.rot.created()
	r.createdAt += n
	if lost {
		r.rot.close()
		r.rot = nil
		r.warn(0, "missed rotations can no longer be counted (inotify events lost); rotations faster than the poll interval may now lose records unnoticed")
		return
	}
	fi, err := os.Stat(r.spec.Path)
	if err != nil || !os.SameFile(fi, r.fi) {
		return
	}
	if missed := r.createdAt - r.opened; missed > r.missedSeen {
		k := missed - r.missedSeen
		r.missedSeen = missed
		r.missRotations(k, fmt.Sprintf("%d file(s) created at the path were replaced before the reader could open them", k))
	}
}

// missRotations reports n rotations whose files could not be read.
func (r *Reader) missRotations(n int64, why string) {
	r.rotationsMissed.Add(n)
	r.warn(0, fmt.Sprintf("missed %d rotation(s), their records are lost: %s (rotated faster than the poll interval, %v)",
		n, why, r.opts.PollInterval))
}

// emitter collects events into batches and sends them.
type emitter struct {
	ctx   context.Context
	out   chan<- []Event
	size  int
	batch []Event
	r     *Reader
}

func (e *emitter) add(ev Event) error {
	if e.batch == nil {
		e.batch = make([]Event, 0, e.size)
	}
	e.batch = append(e.batch, ev)
	if len(e.batch) >= e.size {
		return e.flush()
	}
	return nil
}

func (e *emitter) flush() error {
	if len(e.batch) == 0 {
		return e.ctx.Err()
	}
	if err := e.ctx.Err(); err != nil {
		return err
	}
	select {
	case e.out <- e.batch:
	case <-e.ctx.Done():
		return e.ctx.Err()
	}
	e.r.records.Add(int64(len(e.batch)))
	e.batch = nil
	return nil
}

type format uint8

const (
	formatJSON format = iota
	formatTSV
)

// stream is the reading state of one file (or of one file since it was
// truncated): buffers, line number, format.
type stream struct {
	count   *countingReader
	lines   *bufio.Reader
	gz      *gzip.Reader
	lineNo  int
	acc     []byte // partial line being accumulated
	tooLong bool   // the line being accumulated exceeds MaxLineSize
	reset   bool   // acc held the previous line; clear it before reading
	done    bool   // the stream cannot grow (gzip ended)
	live    bool   // a pipe or stdin: reads block until the writer writes
	max     int
	format  format
	tsv     *tsvState
}

// countingReader counts the bytes read from a file.
type countingReader struct {
	r     io.Reader
	n     int64 // since the stream started: the file offset
	total *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.total.Add(int64(n))
	return n, err
}

const readBufSize = 256 << 10

// newStream starts reading src at its current offset, detecting gzip by its
// magic bytes.
func (r *Reader) newStream(src io.Reader) (*stream, error) {
	cr := &countingReader{r: src, total: &r.bytesRead}
	raw := bufio.NewReaderSize(cr, readBufSize)
	st := &stream{count: cr, lines: raw, max: r.opts.MaxLineSize}
	st.live = r.file == nil || r.fi == nil || !r.fi.Mode().IsRegular()
	magic, err := raw.Peek(2)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, err
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(raw)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		st.gz = gz
		st.lines = bufio.NewReaderSize(gz, readBufSize)
	}
	return st, nil
}

// nextLine returns the next complete line, without its "\n", valid until
// the next call. tooLong reports a line longer than the limit (its content
// is not returned). At the end of the data available so far it returns
// io.EOF and keeps a partial last line for later.
func (st *stream) nextLine() (line []byte, tooLong bool, err error) {
	if st.reset {
		st.clearAcc()
	}
	if st.done {
		return nil, false, io.EOF
	}
	for {
		chunk, err := st.lines.ReadSlice('\n')
		switch err {
		case nil:
			chunk = chunk[:len(chunk)-1]
			if len(st.acc) == 0 && !st.tooLong {
				if len(chunk) > st.max {
					return nil, true, nil
				}
				return chunk, false, nil
			}
			st.appendPartial(chunk)
			st.reset = true
			if st.tooLong {
				return nil, true, nil
			}
			return st.acc, false, nil
		case bufio.ErrBufferFull:
			st.appendPartial(chunk)
		case io.EOF:
			st.appendPartial(chunk)
			if st.gz != nil {
				st.done = true
			}
			return nil, false, io.EOF
		default:
			if st.gz != nil {
				err = gzipError(err)
			}
			return nil, false, err
		}
	}
}

// gzipError says what a failure to decompress means for the file.
func gzipError(err error) error {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("truncated gzip data: %w", err)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.As(err, &corrupt):
		return fmt.Errorf("corrupt gzip data: %w", err)
	}
	return err
}

func (st *stream) appendPartial(chunk []byte) {
	if st.tooLong {
		return
	}
	if len(st.acc)+len(chunk) > st.max {
		st.tooLong = true
		st.acc = st.acc[:0]
		return
	}
	st.acc = append(st.acc, chunk...)
}

// drain handles every complete line available now.
func (r *Reader) drain(e *emitter, st *stream) error {
	for n := 0; ; n++ {
		line, tooLong, err := st.nextLine()
		if err == io.EOF {
			return r.handleAhead(e, st)
		}
		if err != nil {
			if herr := r.handleAhead(e, st); herr != nil {
				return herr
			}
			return err
		}
		if r.readsAhead(st) {
			if r.ahead.add(line, tooLong) {
				if err := r.handleBlock(e, st, r.ahead.next()); err != nil {
					r.dropAhead()
					return err
				}
			}
		} else {
			// Lines read ahead come first (the stream stopped being read
			// ahead, say because a header line made it Zeek TSV).
			if err := r.handleAhead(e, st); err != nil {
				return err
			}
			if err := r.handle(e, st, line, tooLong, nil); err != nil {
				return err
			}
		}
		if st.live && st.lines.Buffered() == 0 {
			// A pipe (stdin, a FIFO) with nothing more buffered: the next
			// read may wait for the writer, so hand over what we have
			// rather than hold records back until a batch fills.
			if err := e.flush(); err != nil {
				return err
			}
		}
		if n&1023 == 1023 {
			if err := e.ctx.Err(); err != nil {
				return err
			}
		}
	}
}

// finish handles a last line that has no "\n" at the end of a stream.
func (r *Reader) finish(e *emitter, st *stream) error {
	if st.reset {
		st.clearAcc()
	}
	if len(st.acc) == 0 && !st.tooLong {
		return nil
	}
	line, tooLong := st.acc, st.tooLong
	st.reset = true
	return r.handle(e, st, line, tooLong, nil)
}

// clearAcc forgets the line accumulated in acc once it has been handled.
func (st *stream) clearAcc() {
	st.reset = false
	st.tooLong = false
	if cap(st.acc) > 1<<20 {
		st.acc = nil // do not keep a huge buffer for ever
	} else {
		st.acc = st.acc[:0]
	}
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// handle turns one line into an event, or reports it as a bad record.
// ahead, if not nil, may hold the line's parse as JSON (see parseAhead).
func (r *Reader) handle(e *emitter, st *stream, line []byte, tooLong bool, ahead *aheadLine) error {
	st.lineNo++
	if tooLong {
		r.bad(st, fmt.Errorf("line longer than %d bytes", st.max))
		return nil
	}
	if st.lineNo == 1 {
		line = bytes.TrimPrefix(line, utf8BOM)
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if isBlank(line) {
		return nil
	}
	if line[0] == '#' && (st.format == formatTSV || isSeparatorHeader(line)) {
		if st.tsv == nil {
			st.tsv = newTSVState(r.c, &r.json.a, func(msg string) { r.warn(st.lineNo, msg) })
		}
		st.format = formatTSV
		if err := st.tsv.header(line); err != nil {
			r.bad(st, err)
		}
		return nil
	}
	var rec *Record
	var err error
	switch {
	case st.format == formatTSV:
		rec, err = st.tsv.record(line)
	case ahead != nil && ahead.parsed:
		rec, err = ahead.rec, ahead.err
	default:
		rec, err = r.json.ParseRecord(line)
	}
	if err != nil {
		r.bad(st, err)
		return nil
	}
	name := r.spec.Event
	if name == "" {
		if v, ok := rec.Get("_path"); ok {
			name, _ = v.(string)
		}
		if name == "" && st.format == formatTSV {
			name = st.tsv.path
		}
		if name == "" {
			r.bad(st, errors.New("no event name: no NAME= given and no _path field"))
			return nil
		}
	}
	ev, err := newEvent(name, rec)
	if err != nil {
		r.bad(st, err)
		return nil
	}
	ev.File, ev.Line = r.spec.Path, st.lineNo
	return e.add(ev)
}

// NewEvent checks a record of spec's input as a Reader checks a JSON line
// and returns its event, File and Line left to the caller: the event is
// spec.Event, else the record's "_path" string; a record with neither, one
// naming a reserved event, or one whose ts is not a plausible time is an
// error (a bad record).
func NewEvent(spec Spec, rec *Record) (Event, error) {
	name := spec.Event
	if name == "" {
		if v, ok := rec.Get("_path"); ok {
			name, _ = v.(string)
		}
		if name == "" {
			return Event{}, errors.New("no event name: no NAME= given and no _path field")
		}
	}
	return newEvent(name, rec)
}

func newEvent(name string, rec *Record) (Event, error) {
	if ReservedEvent(name) {
		return Event{}, fmt.Errorf("event %q is reserved for the engine (init, done, Storage.*, scriptd.*)", name)
	}
	ts, err := recordTS(rec)
	if err != nil {
		return Event{}, err
	}
	return Event{Name: name, Record: rec, TS: ts}, nil
}

// Repeated bad records: the first with a given reason is reported in full;
// the later ones are counted, and reported together (a RepeatedError) when
// the reader reaches the end of its input or of a file, when Run returns,
// and, while following, every repeatFlushInterval. At most maxRepeatKeys
// reasons are tracked at a time; bad records with other reasons are
// reported one by one.
const (
	repeatFlushInterval = time.Minute
	maxRepeatKeys       = 1024
)

// repeat is the bad records of one reason since the last flush.
type repeat struct {
	reason string
	err    error // as reported in full
	first  int   // its line
	last   int   // line of the last repeat
	more   int   // repeats not reported
}

// RepeatedError reports, through [Options.OnBadRecord], bad records that
// were not reported one by one because they had the same reason as an
// earlier one of the same file (line First, reported with Err). The line
// passed with it is Last's.
type RepeatedError struct {
	Count  int    // bad records not reported one by one
	First  int    // the line reported in full
	Last   int    // the line of the last of them
	Reason string // the reason they share (Err's message without a column)
	Err    error  // the error reported for line First
}

func (e *RepeatedError) Error() string {
	return fmt.Sprintf("%d more bad records like line %d, up to line %d: %s", e.Count, e.First, e.Last, e.Reason)
}

func (e *RepeatedError) Unwrap() error { return e.Err }

// reason is what makes two bad records' errors the same: the message, less
// the column for a syntax error.
func reason(err error) string {
	var se *SyntaxError
	if errors.As(err, &se) {
		return se.Msg
	}
	return err.Error()
}

func (r *Reader) bad(st *stream, err error) {
	r.skipped.Add(1)
	key := reason(err)
	if rep := r.reps[key]; rep != nil {
		rep.more++
		rep.last = st.lineNo
		return
	}
	if len(r.reps) < maxRepeatKeys {
		if r.reps == nil {
			r.reps = make(map[string]*repeat)
		}
		rep := &repeat{reason: key, err: err, first: st.lineNo, last: st.lineNo}
		r.reps[key] = rep
		r.repOrder = append(r.repOrder, rep)
	}
	if r.opts.OnBadRecord != nil {
		r.opts.OnBadRecord(r.spec.Path, st.lineNo, err)
	}
}

// flushRepeats reports the repeated bad records counted so far and forgets
// the reasons seen, so that the next bad record is reported in full.
func (r *Reader) flushRepeats() {
	r.repSince = time.Now()
	if len(r.reps) == 0 {
		return
	}
	for _, rep := range r.repOrder {
		if rep.more > 0 && r.opts.OnBadRecord != nil {
			r.opts.OnBadRecord(r.spec.Path, rep.last, &RepeatedError{
				Count: rep.more, First: rep.first, Last: rep.last, Reason: rep.reason, Err: rep.err})
		}
	}
	clear(r.reps)
	clear(r.repOrder)
	r.repOrder = r.repOrder[:0]
}

// warn reports a warning about line (0: none) of the file being read.
func (r *Reader) warn(line int, msg string) {
	r.warnings.Add(1)
	if r.opts.OnWarning != nil {
		r.opts.OnWarning(r.spec.Path, line, msg)
	}
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}
