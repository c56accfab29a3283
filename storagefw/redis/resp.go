package redis

import (
	"bufio"
	"errors"
	"fmt"
	"io"
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

// encoder writes RESP arrays of bulk strings.
type encoder struct {
	w       *bufio.Writer
	scratch [24]byte  // length headers
	num     [400]byte // numeric arguments ('f' formatting of a float can be long)
}

func (e *encoder) writeLen(prefix byte, n int) {
	b := append(e.scratch[:0], prefix)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, '\r', '\n')
	e.w.Write(b) //nolint:errcheck // bufio.Writer errors are sticky; checked at Flush
}

// array starts a command of n arguments.
func (e *encoder) array(n int) { e.writeLen('*', n) }

func (e *encoder) bulk(b []byte) {
	e.writeLen('$', len(b))
	e.w.Write(b) //nolint:errcheck // sticky, checked at Flush
	e.w.WriteString("\r\n")
}

func (e *encoder) bulkString(s string) {
	e.writeLen('$', len(s))
	e.w.WriteString(s)
	e.w.WriteString("\r\n")
}

// bulkKey writes prefix + sep + key as one bulk string without building it.
func (e *encoder) bulkKey(prefix, sep string, key []byte) {
	e.writeLen('$', len(prefix)+len(sep)+len(key))
	e.w.WriteString(prefix)
	e.w.WriteString(sep)
	e.w.Write(key) //nolint:errcheck // sticky, checked at Flush
	e.w.WriteString("\r\n")
}

func (e *encoder) bulkInt(n int64) { e.bulk(strconv.AppendInt(e.num[:0], n, 10)) }

// bulkFloat writes f in the shortest decimal form that reads back exactly
// (Redis parses scores with strtod, Lua with tonumber).
func (e *encoder) bulkFloat(f float64) { e.bulk(strconv.AppendFloat(e.num[:0], f, 'f', -1, 64)) }

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
