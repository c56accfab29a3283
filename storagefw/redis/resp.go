package redis

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// This file holds a minimal RESP2 encoder and decoder: enough for the
// commands the backend sends and the replies they produce. It is written
// against bufio so that a whole pipeline is encoded into one buffer and
// decoded from one buffer, without per-command allocations beyond the
// values returned to callers.

// maxBulkLen is Redis's default proto-max-bulk-len (512 MB).
const maxBulkLen = 512 << 20

// maxArrayLen and maxDepth bound what a (possibly confused) server can make
// the decoder allocate.
const (
	maxArrayLen = 1 << 20
	maxDepth    = 8
)

var errProtocol = errors.New("redis protocol error")

// encoder writes commands (commands.go) as RESP arrays of bulk strings.
type encoder struct {
	w       *bufio.Writer
	scratch [24]byte  // a length line, when the buffer is nearly full
	num     [400]byte // numeric arguments ('f' formatting of a float can be long)
}

// maxFraming is the most bytes a bulk string's framing takes: '$', the
// length (at most 20 digits), CR LF, and the closing CR LF.
const maxFraming = 1 + 20 + 2 + 2

// command writes one command: the RESP array of its arguments, each a bulk
// string. Every command goes through here (the builders in commands.go).
func (e *encoder) command(args ...arg) {
	e.lengthLine('*', len(args))
	for i := range args {
		a := &args[i]
		switch a.kind {
		case argText:
			e.bulk(a.s, "", nil)
		case argBytes:
			e.bulk("", "", a.b)
		case argKey:
			e.bulk(a.s, ":", a.b)
		case argInt:
			e.bulk("", "", strconv.AppendInt(e.num[:0], int64(a.n), 10))
		case argFloat:
			// The shortest decimal form that reads back exactly (Redis
			// parses scores with strtod, Lua with tonumber).
			e.bulk("", "", strconv.AppendFloat(e.num[:0], math.Float64frombits(a.n), 'f', -1, 64))
		default:
			panic("redis: command argument of unknown kind")
		}
	}
}

// lengthLine writes "<prefix><n>\r\n", an array's or a bulk string's header.
func (e *encoder) lengthLine(prefix byte, n int) {
	b := e.w.AvailableBuffer()
	if cap(b) < len(e.scratch) {
		b = e.scratch[:0]
	}
	b = append(b, prefix)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, '\r', '\n')
	e.w.Write(b) //nolint:errcheck // bufio.Writer errors are sticky; checked at Flush
}

// bulk writes s + sep + b as one bulk string without building it: framing
// and payload are appended to the buffer's free space and written at once
// when they fit, else written piecewise (bufio writes out as it fills).
func (e *encoder) bulk(s, sep string, b []byte) {
	n := len(s) + len(sep) + len(b)
	buf := e.w.AvailableBuffer()
	if cap(buf) < n+maxFraming {
		e.lengthLine('$', n)
		e.w.WriteString(s)   //nolint:errcheck // sticky, checked at Flush
		e.w.WriteString(sep) //nolint:errcheck // sticky
		e.w.Write(b)         //nolint:errcheck // sticky
		e.w.WriteString("\r\n")
		return
	}
	buf = append(buf, '$')
	buf = strconv.AppendInt(buf, int64(n), 10)
	buf = append(buf, '\r', '\n')
	buf = append(buf, s...)
	buf = append(buf, sep...)
	buf = append(buf, b...)
	buf = append(buf, '\r', '\n')
	e.w.Write(buf) //nolint:errcheck // sticky, checked at Flush
}

// reply is one decoded RESP2 reply.
type reply struct {
	kind   byte   // '+', '-', ':', '$' or '*'
	null   bool   // null bulk string or null array
	status string // '+' text
	str    []byte // '-' text, '$' payload (owned by the reply)
	n      int64  // ':' value
	elems  []reply
}

func (r reply) isError() bool { return r.kind == '-' }

// errString returns the error text of a '-' reply.
func (r reply) errString() string { return string(r.str) }

// describe summarises a reply for error messages.
func (r reply) describe() string {
	switch r.kind {
	case '+':
		return "status " + strconv.Quote(r.status)
	case '-':
		return "error " + strconv.Quote(string(r.str))
	case ':':
		return "integer " + strconv.FormatInt(r.n, 10)
	case '$':
		if r.null {
			return "nil"
		}
		return fmt.Sprintf("bulk string of %d bytes", len(r.str))
	case '*':
		if r.null {
			return "nil array"
		}
		return fmt.Sprintf("array of %d elements", len(r.elems))
	}
	return "unknown reply"
}

// readReply decodes one reply from r.
func readReply(r *bufio.Reader) (reply, error) { return readReplyDepth(r, 0) }

func readReplyDepth(r *bufio.Reader, depth int) (reply, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return reply{}, fmt.Errorf("%w: reply line too long", errProtocol)
		}
		return reply{}, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return reply{}, fmt.Errorf("%w: malformed line %q", errProtocol, line)
	}
	kind, body := line[0], line[1:len(line)-2]
	rep := reply{kind: kind}
	switch kind {
	case '+':
		// The statuses of a pipeline; constants do not allocate.
		switch string(body) {
		case "OK":
			rep.status = "OK"
		case "QUEUED":
			rep.status = "QUEUED"
		default:
			rep.status = string(body)
		}
		return rep, nil
	case '-':
		rep.str = append([]byte(nil), body...)
		return rep, nil
	case ':':
		rep.n, err = parseInt(body)
		return rep, err
	case '$':
		n, err := parseInt(body)
		if err != nil {
			return rep, err
		}
		if n < 0 {
			rep.null = true
			return rep, nil
		}
		if n > maxBulkLen {
			return rep, fmt.Errorf("%w: bulk string of %d bytes", errProtocol, n)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return rep, noEOF(err)
		}
		if buf[n] != '\r' || buf[n+1] != '\n' {
			return rep, fmt.Errorf("%w: bulk string not terminated", errProtocol)
		}
		rep.str = buf[:n:n]
		return rep, nil
	case '*':
		n, err := parseInt(body)
		if err != nil {
			return rep, err
		}
		if n < 0 {
			rep.null = true
			return rep, nil
		}
		if n > maxArrayLen || depth >= maxDepth {
			return rep, fmt.Errorf("%w: array too large or too deep", errProtocol)
		}
		rep.elems = make([]reply, n)
		for i := range rep.elems {
			if rep.elems[i], err = readReplyDepth(r, depth+1); err != nil {
				return rep, noEOF(err)
			}
		}
		return rep, nil
	}
	return rep, fmt.Errorf("%w: unexpected reply type %q", errProtocol, kind)
}

func parseInt(b []byte) (int64, error) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: bad integer %q", errProtocol, b)
	}
	return n, nil
}

// noEOF turns an EOF in the middle of a reply into ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
