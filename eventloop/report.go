package eventloop

import (
	"errors"
	"strconv"
	"strings"

	"github.com/dop251/goja"
)

// CallbackError is reported for a script callback that threw or rejected.
type CallbackError struct {
	Origin string // what was running: `handler "dns"`, "setTimeout callback"
	Detail string // the error's stack (message and file:line:col frames)
	// Interrupted is set when the callback was stopped by Interrupt (the
	// watchdog's handler time limit); the loop is then broken.
	Interrupted bool
	// Subject is what was being handled, as "FILE:LINE" of an input
	// record ("" when not a record; see Loop.SetSubject).
	Subject string
}

// reportCallbackError reports an exception thrown synchronously by a
// callback the loop dispatched.
func (l *Loop) reportCallbackError(origin string, err error) {
	l.ReportError(origin, err)
}

// ReportError reports an error thrown by a script callback (loop goroutine).
// Errors from a broken loop (ErrBroken) are not script errors and are
// dropped; an interrupt is reported with its reason and the stack of the
// code it stopped.
func (l *Loop) ReportError(origin string, err error) {
	if errors.Is(err, ErrBroken) {
		return
	}
	var detail string
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		if l.interruptReported {
			return
		}
		l.interruptReported = true
		detail = strings.TrimRight(ie.String(), "\n")
		l.emitError(CallbackError{Origin: origin, Detail: detail, Interrupted: true})
		return
	}
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		detail = "RangeError: maximum call stack size exceeded\n" + so.Error()
	}
	var ex *goja.Exception
	switch {
	case detail != "": // a stack overflow, described above
	case errors.As(err, &ex):
		detail = exceptionDetail(l.vm, ex)
	case detail == "":
		detail = err.Error()
	}
	l.emitError(CallbackError{Origin: origin, Detail: detail, Subject: l.subjectNow()})
}

// ReportRejection reports the rejection reason of a callback's promise.
func (l *Loop) ReportRejection(origin string, reason goja.Value) {
	l.emitError(CallbackError{Origin: origin, Detail: ErrorStack(l.vm, reason), Subject: l.subjectNow()})
}

// SetSubject names what the following callbacks handle: the input record
// at file:line (file "" for none; line 0: file alone names it). Errors reported meanwhile — and later
// rejections of promises watched meanwhile — carry it (loop goroutine).
func (l *Loop) SetSubject(file string, line int) {
	l.subjFile, l.subjLine = file, line
}

func (l *Loop) subjectNow() string {
	if l.subjFile == "" || l.subjLine <= 0 {
		return l.subjFile // line 0: the file names the record itself (a stream entry)
	}
	return l.subjFile + ":" + strconv.Itoa(l.subjLine)
}

func (l *Loop) emitError(e CallbackError) {
	e.Detail = trimHostFrames(e.Detail)
	if l.opts.OnCallbackError != nil {
		l.opts.OnCallbackError(e)
		return
	}
	l.log.Error("script error", "in", e.Origin, "error", e.Detail)
}

// watchPromise reports a rejection of ret, if ret is a promise. It attaches
// a rejection handler, so the rejection is not also reported as unhandled.
func (l *Loop) watchPromise(origin string, ret goja.Value) {
	p, ok := ret.Export().(*goja.Promise)
	if !ok {
		return
	}
	subjFile, subjLine := l.subjFile, l.subjLine
	switch p.State() {
	case goja.PromiseStateFulfilled:
		return
	case goja.PromiseStateRejected:
		// Mark handled, then report.
		delete(l.rejected, p)
		l.ReportRejection(origin, p.Result())
		return
	}
	obj := ret.(*goja.Object)
	then, ok := goja.AssertFunction(obj.Get("then"))
	if !ok {
		return
	}
	onReject := l.Func("reject-reporter", func(call goja.FunctionCall) goja.Value {
		prevFile, prevLine := l.subjFile, l.subjLine
		l.subjFile, l.subjLine = subjFile, subjLine
		l.ReportRejection(origin, call.Argument(0))
		l.subjFile, l.subjLine = prevFile, prevLine
		return goja.Undefined()
	})
	_, _ = l.CallIn(nil, then, obj, goja.Undefined(), onReject)
}

// WatchPromise is watchPromise for the runtime: report a rejection of ret
// (if it is a promise) as coming from origin (loop goroutine only).
func (l *Loop) WatchPromise(origin string, ret goja.Value) { l.watchPromise(origin, ret) }

// trimHostFrames drops the stack frames of the loop's own machinery (the
// task trampoline and the Go wrappers of host functions) from a rendered
// stack: they say nothing about the script.
func trimHostFrames(stack string) string {
	if !strings.Contains(stack, "scriptd:trampoline") && !strings.Contains(stack, "(native)") {
		return stack
	}
	lines := strings.Split(stack, "\n")
	out := lines[:0]
	for _, ln := range lines {
		frame := strings.TrimLeft(ln, " \t")
		if strings.HasPrefix(frame, "at ") && (strings.Contains(frame, "scriptd:trampoline") || strings.HasSuffix(frame, "(native)")) {
			continue
		}
		out = append(out, ln)
	}
	return strings.Join(out, "\n")
}

// ErrorDetail renders an error from calling into JS (a thrown value, an
// interrupt, a Go error) as one message, first line only, without ever
// panicking on values that have no string form.
func ErrorDetail(err error) string {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		d := ErrorStack(nil, ex.Value())
		first, _, _ := strings.Cut(d, "\n")
		return first
	}
	return err.Error()
}
