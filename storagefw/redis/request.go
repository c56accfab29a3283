package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/rueidis"

	"github.com/scriptd/scriptd/storagefw"
)

// cmdKind is the command a request is sent as.
type cmdKind uint8

const (
	// Live mode: Zeek's commands, Redis expires entries itself.
	cmdSet cmdKind = iota + 1 // SET k v [NX] [PXAT ms]
	cmdGet                    // GET k
	cmdDel                    // DEL k

	// Replay mode: entry plus its expiry set, atomically (scripts.go).
	cmdPutReplay   // overwrite: EVALSHA putScript
	cmdPutNX       // overwrite:false: EVALSHA putNXScript
	cmdGetReplay   // EVALSHA getScript
	cmdEraseReplay // EVALSHA eraseScript

	// Internal.
	cmdSweep // expire pass: EVALSHA sweepScript (a cluster: every slot's set)

	// Beyond Zeek (extended.go), live and replay alike.
	cmdCAS  // EVALSHA casScript
	cmdIncr // EVALSHA incrScript
	cmdScan // EVALSHA scanScript (a cluster: clusterScanScript on one master)
)

// opName names what a request does, for messages (Zeek's wording).
func (k cmdKind) opName() string {
	switch k {
	case cmdSet, cmdPutReplay, cmdPutNX:
		return "put"
	case cmdGet, cmdGetReplay:
		return "get"
	case cmdDel, cmdEraseReplay:
		return "erase"
	case cmdSweep:
		return "expire"
	case cmdCAS:
		return "compare_and_swap"
	case cmdIncr:
		return "increment"
	case cmdScan:
		return "scan"
	}
	return "unknown"
}

// internalResult is what an internal request (no storagefw.Request) reports.
type internalResult struct {
	more    bool // the sweep may have left expired entries (a full batch)
	deleted int
	res     storagefw.Reply // Code Success unless it failed
}

// req is one command in flight. Its fields are set before it is queued and
// read-only afterwards, except done.
type req struct {
	op       *storagefw.Request
	parent   *storagefw.Request // a batch entry's batch (taken, cancelled with it)
	kind     cmdKind
	now      float64       // network time the op was issued at
	expireAt float64       // absolute expiry, 0 = never
	replay   bool          // sent in replay mode (the expiry set decides)
	deadline time.Duration // since Backend.epoch
	internal chan<- internalResult

	// done is set by whoever completes the request first: the dispatcher
	// (on its reply), the timeout watchdog, a connection failure or Close.
	done atomic.Bool
}

// claim marks r completed; only the caller that gets true may deliver.
func (r *req) claim() bool { return r.done.CompareAndSwap(false, true) }

// deliver hands a result to the op's owner. Call only after claim.
func (r *req) deliver(res storagefw.Reply) {
	if r.op != nil {
		r.op.Complete(res)
		return
	}
	if r.internal != nil {
		r.internal <- internalResult{res: res} // buffered, never blocks
	}
}

// finish completes r (if nobody did yet) with res.
func (r *req) finish(res storagefw.Reply) {
	if r.claim() {
		r.deliver(res)
	}
}

// taker is the request whose Take decides whether r is sent: its batch's
// for a batch entry, else its own (nil for internal requests).
func (r *req) taker() *storagefw.Request {
	if r.parent != nil {
		return r.parent
	}
	return r.op
}

// barrier reports whether r runs on its own, after everything before it
// has completed and before anything after it is sent: in a cluster, a scan
// (on one master's connection) and the sweep (a pipeline of its own).
func (r *req) barrier(t topology) bool {
	return t == cluster && (r.kind == cmdScan || r.kind == cmdSweep)
}

// command builds r's command.
func (b *Backend) command(r *req) rueidis.Completed {
	op := r.op
	B := b.builder()
	prefix := b.s.keyPrefix
	var key string
	if op != nil {
		key = entryKey(prefix, op.Key)
	}
	switch r.kind {
	case cmdSet:
		return setCmd(B, key, op.Value, !op.Overwrite, pxatMillis(r.expireAt))
	case cmdGet:
		return getCmd(B, key)
	case cmdDel:
		return delCmd(B, key)
	case cmdPutReplay:
		return evalshaCmd(B, b.scripts.put.sha, []string{key, b.expireSetOf(key)}, bs(op.Key), bs(op.Value), num(r.expireAt))
	case cmdPutNX:
		return evalshaCmd(B, b.scripts.putNX.sha, []string{key, b.expireSetOf(key)}, bs(op.Key), bs(op.Value), num(r.expireAt), num(r.now))
	case cmdGetReplay:
		return evalshaCmd(B, b.scripts.get.sha, []string{key, b.expireSetOf(key)}, bs(op.Key), num(r.now))
	case cmdEraseReplay:
		return evalshaCmd(B, b.scripts.erase.sha, []string{key, b.expireSetOf(key)}, bs(op.Key), num(r.now))
	case cmdSweep:
		return evalshaCmd(B, b.scripts.sweep.sha, []string{b.expireSet}, num(r.now), integer(sweepBatch), entryKey(prefix, nil))
	case cmdCAS, cmdIncr, cmdScan:
		return b.extendedCommand(r, key)
	}
	panic(fmt.Sprintf("redis: no command for %v", r.kind))
}

// builder builds the Backend's commands (keys with slots in a cluster).
func (b *Backend) builder() keyed {
	return keyed{Builder: b.client.B(), cluster: b.s.topology == cluster}
}

// expireSetOf is the expiry set holding the score of the entry key: the
// one set "<key_prefix>_expire", or in a cluster its slot's (cluster.go).
func (b *Backend) expireSetOf(key string) string {
	if b.s.topology == cluster {
		return slotSet(b.s.keyPrefix, keySlot(key))
	}
	return b.expireSet
}

// resultOf interprets the reply to r.
func resultOf(r *req, res rueidis.RedisResult) storagefw.Reply {
	failed := func(msg string) storagefw.Reply {
		return storagefw.Reply{Code: storagefw.OperationFailed,
			Error: fmt.Sprintf("%s operation failed: %s", r.kind.opName(), msg)}
	}
	msg, err := res.ToMessage()
	isNil := rueidis.IsRedisNil(err)
	if err != nil && !isNil {
		return replyForError(r, err)
	}
	switch r.kind {
	case cmdSet:
		switch {
		case isNil: // SET NX on an existing key
			return storagefw.Reply{Code: storagefw.KeyExists}
		case msg.IsString():
			return storagefw.Reply{Code: storagefw.Success}
		}
	case cmdPutNX, cmdPutReplay:
		if n, err := msg.AsInt64(); err == nil {
			if n == 1 {
				return storagefw.Reply{Code: storagefw.Success}
			}
			return storagefw.Reply{Code: storagefw.KeyExists}
		}
	case cmdGet, cmdGetReplay:
		if isNil {
			return storagefw.Reply{Code: storagefw.KeyNotFound}
		}
		if s, err := msg.ToString(); err == nil {
			return storagefw.Reply{Code: storagefw.Success, Value: []byte(s)}
		}
	case cmdDel, cmdEraseReplay:
		if n, err := msg.AsInt64(); err == nil {
			if n > 0 {
				return storagefw.Reply{Code: storagefw.Success}
			}
			return storagefw.Reply{Code: storagefw.KeyNotFound}
		}
	case cmdCAS, cmdIncr, cmdScan:
		if out, ok := extendedResult(r, res); ok {
			return out
		}
	}
	return failed("unexpected reply " + describe(res))
}

// describe is a reply's text for messages.
func describe(res rueidis.RedisResult) string {
	msg, err := res.ToMessage()
	if err != nil {
		return err.Error()
	}
	return msg.String()
}

// replyForError is the result of an op whose command failed with err: a
// Redis error reply (OPERATION_FAILED with the server's text), TIMEOUT, or
// what a connection failure means for it (connError).
func replyForError(r *req, err error) storagefw.Reply {
	var re *rueidis.RedisError
	switch {
	case errors.As(err, &re):
		return storagefw.Reply{Code: storagefw.OperationFailed,
			Error: fmt.Sprintf("%s operation failed: %s", r.kind.opName(), re.Error())}
	case errors.Is(err, context.DeadlineExceeded):
		return storagefw.Reply{Code: storagefw.Timeout, Error: timeoutMsg(r)}
	}
	code, msg := connError(err)
	return storagefw.Reply{Code: code, Error: fmt.Sprintf("%s operation: %s", r.kind.opName(), msg)}
}

// connError classifies a transport error: NOT_CONNECTED when the command
// was certainly not sent (no connection could be made, the Backend is down
// or closing), else CONNECTION_LOST (it may or may not have taken effect).
func connError(err error) (storagefw.Code, string) {
	var oe *net.OpError
	switch {
	case errors.Is(err, errDown), errors.Is(err, context.Canceled):
		return storagefw.NotConnected, "not sent: " + err.Error()
	case errors.As(err, &oe) && oe.Op == "dial", errors.Is(err, rueidis.ErrNoSlot):
		return storagefw.NotConnected, "not sent: " + err.Error()
	}
	return storagefw.ConnectionLost, "connection lost: " + lossReason(err)
}

// lossReason words a connection failure as Zeek (hiredis) does: a closed
// or reset connection is "Server closed the connection".
func lossReason(err error) string {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, rueidis.ErrClosing), errors.Is(err, net.ErrClosed):
		return "Server closed the connection"
	}
	return strings.TrimSpace(err.Error())
}

// isConnFailure reports whether err (a transport error, not a Redis error
// reply, not a timeout) means the connection is gone.
func isConnFailure(err error) bool {
	if err == nil {
		return false
	}
	if _, ok := err.(*rueidis.RedisError); ok {
		return false
	}
	var re *rueidis.RedisError
	if errors.As(err, &re) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, errDown) {
		return false
	}
	return true
}

// isNoScript reports whether err says the server lost our scripts.
func isNoScript(err error) bool {
	if err == nil {
		return false
	}
	if re, ok := err.(*rueidis.RedisError); ok { // as rueidis returns them
		return re.IsNoScript()
	}
	var re *rueidis.RedisError
	return errors.As(err, &re) && re.IsNoScript()
}

func timeoutMsg(r *req) string {
	return fmt.Sprintf("%s operation timed out (operation_timeout)", r.kind.opName())
}

// fifo is a queue of requests with amortised O(1) push and pop.
type fifo struct {
	buf  []*req
	head int
}

func (f *fifo) len() int { return len(f.buf) - f.head }

func (f *fifo) push(r *req) { f.buf = append(f.buf, r) }

func (f *fifo) front() *req {
	if f.head < len(f.buf) {
		return f.buf[f.head]
	}
	return nil
}

// popFront removes the front request.
func (f *fifo) popFront() {
	f.buf[f.head] = nil
	f.head++
	f.compact()
}

func (f *fifo) compact() {
	switch {
	case f.head == len(f.buf):
		f.buf, f.head = f.buf[:0], 0
	case f.head > 1024 && f.head > len(f.buf)/2:
		n := copy(f.buf, f.buf[f.head:])
		clear(f.buf[n:])
		f.buf, f.head = f.buf[:n], 0
	}
}

// drain removes and returns every request.
func (f *fifo) drain() []*req {
	out := append([]*req(nil), f.buf[f.head:]...)
	clear(f.buf)
	f.buf, f.head = f.buf[:0], 0
	return out
}
