package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/scriptd/scriptd/runtime/input"
)

// progressInterval is how often the progress line is redrawn.
const progressInterval = 250 * time.Millisecond

// clearLine returns the cursor to column 0 and erases the line.
const clearLine = "\r\x1b[K"

// progressSample is what one redraw shows.
type progressSample struct {
	Inputs   []input.Stats
	InFlight int // storage operations in flight
}

// progress keeps one status line at the bottom of a terminal during a
// replay: records read, records/s, percent of the input read, storage
// operations in flight. Everything else written to the terminal goes
// through Write, which erases the line first so output never mixes with
// it; the next tick redraws it.
//
// Lifecycle: newProgress, start, stop (which erases the line for good).
// Concurrency: Write may be called from any goroutine, concurrently with
// the redraw goroutine; sample is called from the redraw goroutine only.
type progress struct {
	out      io.Writer
	sample   func() progressSample
	interval time.Duration

	mu     sync.Mutex
	shown  bool // the status line is on screen
	closed bool

	stopc chan struct{}
	done  chan struct{}

	// Redraw-goroutine state.
	lastRecords int64
	lastTime    time.Time
	rate        float64 // records/s, smoothed
}

// progressMode is the --progress flag.
type progressMode string

const (
	progressAuto   progressMode = "auto"   // when stderr is a terminal and there are inputs
	progressAlways progressMode = "always" // whenever there are inputs
	progressNever  progressMode = "never"
)

// newProgress returns the progress line for stderr, or nil when it should
// stay silent: mode never, no inputs, or (auto) stderr is not a terminal,
// e.g. in CI or a pipe.
func newProgress(mode progressMode, stderr io.Writer, inputs int, sample func() progressSample) *progress {
	if mode == progressNever || inputs == 0 {
		return nil
	}
	if mode == progressAuto {
		f, ok := stderr.(*os.File)
		if !ok || !isTerminal(f) {
			return nil
		}
	}
	return &progress{out: stderr, sample: sample, interval: progressInterval}
}

// isTerminal reports whether f is a terminal (false where golang.org/x/term
// cannot tell: the progress line then needs --progress=always).
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// Write passes output through, erasing the status line first.
func (p *progress) Write(b []byte) (int, error) { return p.writeTo(p.out, b) }

// writeTo writes b to w (the terminal or another writer showing on the
// same screen) after erasing the status line.
func (p *progress) writeTo(w io.Writer, b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		io.WriteString(p.out, clearLine)
		p.shown = false
	}
	return w.Write(b)
}

// sameScreen returns w wrapped so that its output erases the status line
// first, if w is a terminal too (stdout next to stderr); otherwise w.
func (p *progress) sameScreen(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		return screenWriter{p, w}
	}
	return w
}

type screenWriter struct {
	p *progress
	w io.Writer
}

func (s screenWriter) Write(b []byte) (int, error) { return s.p.writeTo(s.w, b) }

// start begins redrawing.
func (p *progress) start() {
	p.stopc = make(chan struct{})
	p.done = make(chan struct{})
	p.lastTime = time.Now()
	go func() {
		defer close(p.done)
		t := time.NewTicker(p.interval)
		defer t.Stop()
		for {
			select {
			case <-p.stopc:
				return
			case now := <-t.C:
				p.draw(now)
			}
		}
	}()
}

// stop ends redrawing and erases the line.
func (p *progress) stop() {
	if p.stopc == nil {
		return
	}
	close(p.stopc)
	<-p.done
	p.stopc = nil
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		io.WriteString(p.out, clearLine)
		p.shown = false
	}
	p.closed = true
}

func (p *progress) draw(now time.Time) {
	s := p.sample()
	var records int64
	for _, in := range s.Inputs {
		records += in.Records
	}
	if dt := now.Sub(p.lastTime).Seconds(); dt > 0 {
		inst := float64(records-p.lastRecords) / dt
		if p.lastRecords == 0 && p.rate == 0 {
			p.rate = inst
		} else {
			p.rate = 0.6*p.rate + 0.4*inst
		}
	}
	p.lastRecords, p.lastTime = records, now
	text := renderProgress(s, p.rate)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	io.WriteString(p.out, clearLine+text)
	p.shown = true
}

// renderProgress formats one status line (kept under 80 columns).
func renderProgress(s progressSample, rate float64) string {
	var records, skipped, read, size int64
	for _, in := range s.Inputs {
		records += in.Records
		skipped += in.Skipped
		if in.Size > 0 {
			read += min(in.BytesRead, in.Size)
			size += in.Size
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "scriptd: %s records  %s/s", humanCount(float64(records)), humanCount(rate))
	if size > 0 {
		fmt.Fprintf(&b, "  %.1f%% read", 100*float64(read)/float64(size))
	}
	fmt.Fprintf(&b, "  %d ops in flight", s.InFlight)
	if skipped > 0 {
		fmt.Fprintf(&b, "  %s skipped", humanCount(float64(skipped)))
	}
	return b.String()
}

// humanCount renders n with a k/M/G suffix (3 significant digits).
func humanCount(n float64) string {
	switch {
	case n < 0:
		n = 0
	case n >= 1e9:
		return trimFloat(n/1e9) + "G"
	case n >= 1e6:
		return trimFloat(n/1e6) + "M"
	case n >= 1e4:
		return trimFloat(n/1e3) + "k"
	}
	return fmt.Sprintf("%.0f", n)
}

func trimFloat(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}
