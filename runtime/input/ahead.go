package input

import (
	"runtime"
	"sync"
)

// Parsing ahead. Parsing JSON is most of a reader's work, and one
// goroutine parsing a file's records one after another is what bounds a
// replay (the script loop needs far less per record). So, for a JSON file
// read from disk, the reader copies its lines into blocks that helper
// goroutines parse, each with a parser of its own, while it reads on; it
// then handles the blocks' lines in file order, exactly as it handles a
// line it parsed itself (bad records, event names and times, batches),
// only with the parse already done. The helpers parse speculatively: the
// reader decides what each line is, and parses a line itself when no
// parse of it is ready (a header line, say).
//
// Pipes and standard input are read line by line as before: their records
// are handed over as they arrive, not when a block fills.

const (
	aheadLines    = 128 // lines per block
	aheadMaxBytes = 256 << 10
	// A stream reads at most this many blocks per helper ahead of the
	// line it handles; this bounds the memory the blocks hold.
	aheadDepth = 2
	// maxAheadHelpers bounds the helpers per reader: past a few, the
	// script loop, not parsing, bounds a replay.
	maxAheadHelpers = 4
)

// aheadHelpers is how many helper goroutines a reader uses; below 2 it
// parses ahead not at all (one core gains nothing from it).
func aheadHelpers() int {
	return min(runtime.GOMAXPROCS(0), maxAheadHelpers)
}

// aheadBlock is a run of consecutive lines and, once done is closed, what
// parsing them gave.
type aheadBlock struct {
	buf   []byte // the lines, back to back
	lines []aheadLine
	done  chan struct{}
}

// aheadLine is one line of a block.
type aheadLine struct {
	end     int  // where the line ends in buf (it starts where the one before ends)
	tooLong bool // over the size limit: no content
	parsed  bool // rec and err hold the parse of the line
	rec     *Record
	err     error
}

// parseAhead is a reader's helpers and the blocks in flight. Reader's
// goroutine only, but for the helpers' work on blocks handed to them.
type parseAhead struct {
	todo    chan *aheadBlock
	queue   []*aheadBlock // handed to the helpers, in file order
	fill    *aheadBlock   // being filled
	free    []*aheadBlock
	helpers int
	wg      sync.WaitGroup
}

func newParseAhead(helpers int) *parseAhead {
	a := &parseAhead{todo: make(chan *aheadBlock, helpers*aheadDepth), helpers: helpers}
	for range helpers {
		a.wg.Go(func() {
			p := NewJSONParser()
			for b := range a.todo {
				b.parse(p)
				close(b.done)
			}
		})
	}
	return a
}

// stop ends the helpers once they have finished the blocks they hold.
func (a *parseAhead) stop() {
	close(a.todo)
	a.wg.Wait()
}

// parse parses the block's lines that can be records, with the trimming
// the reader applies (see handle).
func (b *aheadBlock) parse(p *JSONParser) {
	start := 0
	for i := range b.lines {
		l := &b.lines[i]
		line := b.buf[start:l.end]
		start = l.end
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if l.tooLong || isBlank(line) || line[0] == '#' {
			continue
		}
		l.rec, l.err = p.ParseRecord(line)
		l.parsed = true
	}
}

// add appends a line to the block being filled, and hands the block to
// the helpers when it is full. It returns whether the caller should handle
// the oldest block now (so that reading stays a bounded distance ahead).
func (a *parseAhead) add(line []byte, tooLong bool) (handleOldest bool) {
	b := a.fill
	if b == nil {
		b = a.newBlock()
		a.fill = b
	}
	if !tooLong {
		b.buf = append(b.buf, line...)
	}
	b.lines = append(b.lines, aheadLine{end: len(b.buf), tooLong: tooLong})
	if len(b.lines) < aheadLines && len(b.buf) < aheadMaxBytes {
		return false
	}
	a.submit()
	return len(a.queue) > a.helpers*aheadDepth
}

func (a *parseAhead) newBlock() *aheadBlock {
	if n := len(a.free); n > 0 {
		b := a.free[n-1]
		a.free = a.free[:n-1]
		b.done = make(chan struct{})
		return b
	}
	return &aheadBlock{buf: make([]byte, 0, 64<<10), lines: make([]aheadLine, 0, aheadLines), done: make(chan struct{})}
}

// submit hands the block being filled to the helpers.
func (a *parseAhead) submit() {
	if a.fill == nil {
		return
	}
	a.queue = append(a.queue, a.fill)
	a.todo <- a.fill
	a.fill = nil
}

// next removes the oldest block handed out and returns it once parsed, or
// nil if there is none.
func (a *parseAhead) next() *aheadBlock {
	if len(a.queue) == 0 {
		return nil
	}
	b := a.queue[0]
	a.queue[0] = nil
	a.queue = a.queue[1:]
	<-b.done
	return b
}

// recycle keeps a handled block's buffers for a later block. Records never
// alias the text they were parsed from, so the bytes can be reused.
func (a *parseAhead) recycle(b *aheadBlock) {
	if cap(b.buf) > 4*aheadMaxBytes {
		return // a block of huge lines: let it go
	}
	clear(b.lines)
	b.buf, b.lines = b.buf[:0], b.lines[:0]
	a.free = append(a.free, b)
}

// handleBlock hands each line of b to handle, in order, with its parse.
func (r *Reader) handleBlock(e *emitter, st *stream, b *aheadBlock) error {
	start := 0
	for i := range b.lines {
		l := &b.lines[i]
		line := b.buf[start:l.end]
		start = l.end
		if err := r.handle(e, st, line, l.tooLong, l); err != nil {
			return err
		}
	}
	r.ahead.recycle(b)
	return nil
}

// handleAhead handles every line read ahead (at the end of the data read
// so far, before a failure, or before the stream is read line by line).
func (r *Reader) handleAhead(e *emitter, st *stream) error {
	a := r.ahead
	if a == nil {
		return nil
	}
	a.submit()
	for b := a.next(); b != nil; b = a.next() {
		if err := r.handleBlock(e, st, b); err != nil {
			r.dropAhead()
			return err
		}
	}
	return nil
}

// dropAhead forgets the blocks in flight (their lines are not handled).
func (r *Reader) dropAhead() {
	a := r.ahead
	a.fill = nil
	for b := a.next(); b != nil; b = a.next() {
	}
}

// readsAhead reports whether st's lines are parsed ahead: a JSON stream
// read from a file (not a pipe), once its first line has been handled
// (it decides the format and may carry a byte order mark).
func (r *Reader) readsAhead(st *stream) bool {
	if r.aheadHelpers < 2 || st.live || st.format != formatJSON || st.lineNo == 0 {
		return false
	}
	if r.ahead == nil {
		r.ahead = newParseAhead(r.aheadHelpers)
	}
	return true
}
