package redis

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/scriptd/scriptd/storagefw"
)

// cmdKind is the command (sequence) a request is sent as.
type cmdKind uint8

const (
	// Live mode: Zeek's commands, Redis expires entries itself.
	cmdSet cmdKind = iota + 1 // SET k v [NX] [PXAT ms]
	cmdGet                    // GET k
	cmdDel                    // DEL k

	// Replay mode: entry plus "<key_prefix>_expire", atomically.
	cmdPutMulti   // overwrite: MULTI, SET k v, ZADD set exp m | ZREM set m, EXEC
	cmdPutNX      // overwrite:false: EVALSHA putNXScript
	cmdGetMulti   // MULTI, ZSCORE set m, GET k, EXEC
	cmdEraseMulti // MULTI, ZSCORE set m, DEL k, ZREM set m, EXEC

	// Internal.
	cmdSweep      // expire pass: EVALSHA sweepScript
	cmdScriptLoad // SCRIPT LOAD after NOSCRIPT

	// Beyond Zeek (extended.go), live and replay alike.
	cmdCAS  // EVALSHA casScript
	cmdIncr // EVALSHA incrScript
	cmdScan // EVALSHA scanScript
)

// replies is how many replies the command sequence produces; the last one
// decides the result (for MULTI/EXEC, EXEC's array).
func (k cmdKind) replies() int {
	switch k {
	case cmdPutMulti, cmdGetMulti:
		return 4 // +OK, +QUEUED, +QUEUED, EXEC
	case cmdEraseMulti:
		return 5
	}
	return 1
}

// opName names what a request does, for messages (Zeek's wording).
func (k cmdKind) opName() string {
	switch k {
	case cmdSet, cmdPutMulti, cmdPutNX:
		return "put"
	case cmdGet, cmdGetMulti:
		return "get"
	case cmdDel, cmdEraseMulti:
		return "erase"
	case cmdSweep:
		return "expire"
	case cmdScriptLoad:
		return "script load"
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
	rep reply
	res storagefw.Reply // Code Success means rep holds a non-error reply
}

// req is one command in flight. Its fields are set before it is queued and
// read-only afterwards, except done.
type req struct {
	op       *storagefw.Request
	parent   *storagefw.Request // a batch entry's batch (taken, cancelled with it)
	kind     cmdKind
	now      float64       // network time the op was issued at
	expireAt float64       // puts: absolute expiry, 0 = never
	replay   bool          // sent in replay mode (the expiry set decides)
	deadline time.Duration // since Backend.epoch
	script   *script       // cmdScriptLoad
	internal chan<- internalResult

	// done is set by whoever completes the request first: the reader (on
	// its reply), the timeout check, or a connection failure.
	done atomic.Bool
}

// claim marks r completed; only the caller that gets true may deliver.
func (r *req) claim() bool { return r.done.CompareAndSwap(false, true) }

// deliver hands a result to the op's owner. Call only after claim.
func (r *req) deliver(res storagefw.Reply, rep reply) {
	if r.op != nil {
		r.op.Complete(res)
		return
	}
	if r.internal != nil {
		r.internal <- internalResult{rep: rep, res: res} // buffered, never blocks
	}
}

// finish completes r (if nobody did yet) with res.
func (r *req) finish(res storagefw.Reply) {
	if r.claim() {
		r.deliver(res, reply{})
	}
}

// resultOf interprets the (last) reply to r.
func resultOf(r *req, rep reply) storagefw.Reply {
	failed := func(msg string) storagefw.Reply {
		return storagefw.Reply{Code: storagefw.OperationFailed,
			Error: fmt.Sprintf("%s operation failed: %s", r.kind.opName(), msg)}
	}
	if rep.isError() {
		return failed(rep.errString())
	}
	// exec checks an EXEC reply of n elements and returns them.
	exec := func(n int) ([]reply, *storagefw.Reply) {
		if rep.kind != '*' || rep.null || len(rep.elems) != n {
			res := failed("unexpected reply " + rep.describe())
			return nil, &res
		}
		for _, e := range rep.elems {
			if e.isError() {
				res := failed(e.errString())
				return nil, &res
			}
		}
		return rep.elems, nil
	}
	switch r.kind {
	case cmdSet:
		switch {
		case rep.kind == '+':
			return storagefw.Reply{Code: storagefw.Success}
		case rep.kind == '$' && rep.null: // SET NX on an existing key
			return storagefw.Reply{Code: storagefw.KeyExists}
		}
	case cmdPutNX:
		if rep.kind == ':' {
			if rep.n == 1 {
				return storagefw.Reply{Code: storagefw.Success}
			}
			return storagefw.Reply{Code: storagefw.KeyExists}
		}
	case cmdPutMulti:
		if _, bad := exec(2); bad != nil {
			return *bad
		}
		return storagefw.Reply{Code: storagefw.Success}
	case cmdGet:
		if rep.kind == '$' {
			return getResult(rep)
		}
	case cmdGetMulti:
		el, bad := exec(2)
		if bad != nil {
			return *bad
		}
		if expired(el[0], r.now) {
			return storagefw.Reply{Code: storagefw.KeyNotFound}
		}
		if el[1].kind == '$' {
			return getResult(el[1])
		}
	case cmdDel:
		if rep.kind == ':' {
			return eraseResult(rep.n > 0)
		}
	case cmdEraseMulti:
		el, bad := exec(3)
		if bad != nil {
			return *bad
		}
		// Erasing an expired, unswept entry deletes it but reports
		// KEY_NOT_FOUND: it was already absent.
		return eraseResult(el[1].kind == ':' && el[1].n > 0 && !expired(el[0], r.now))
	case cmdSweep, cmdScriptLoad:
		return storagefw.Reply{Code: storagefw.Success}
	case cmdCAS, cmdIncr, cmdScan:
		if res, ok := extendedResult(r, rep); ok {
			return res
		}
	}
	return failed("unexpected reply " + rep.describe())
}

// expired reports whether a ZSCORE reply says the entry expired by now.
func expired(score reply, now float64) bool {
	if score.kind != '$' || score.null {
		return false // no expiry
	}
	s, err := strconv.ParseFloat(string(score.str), 64)
	return err == nil && s <= now
}

func getResult(rep reply) storagefw.Reply {
	if rep.null {
		return storagefw.Reply{Code: storagefw.KeyNotFound}
	}
	v := rep.str
	if v == nil {
		v = []byte{}
	}
	return storagefw.Reply{Code: storagefw.Success, Value: v}
}

func eraseResult(erased bool) storagefw.Reply {
	if erased {
		return storagefw.Reply{Code: storagefw.Success}
	}
	return storagefw.Reply{Code: storagefw.KeyNotFound}
}

// isNoScript reports whether rep says the script cache lost our scripts.
func isNoScript(rep reply) bool {
	return rep.isError() && strings.HasPrefix(rep.errString(), "NOSCRIPT")
}

// encode writes r's command, or its MULTI ... EXEC transaction (whose
// replies cmdKind.replies counts).
func (c *conn) encode(r *req) {
	e := &c.enc
	op := r.op
	set := c.b.expireSet
	prefix := c.b.s.keyPrefix
	switch r.kind {
	case cmdSet:
		setCmd(e, entryKey(prefix, op.Key), op.Value, !op.Overwrite, pxatMillis(r.expireAt))
	case cmdGet:
		getCmd(e, entryKey(prefix, op.Key))
	case cmdDel:
		delCmd(e, entryKey(prefix, op.Key))
	case cmdPutMulti:
		multiCmd(e)
		setCmd(e, entryKey(prefix, op.Key), op.Value, false, 0)
		if r.expireAt > 0 {
			zaddCmd(e, set, r.expireAt, op.Key)
		} else {
			zremCmd(e, set, op.Key)
		}
		execCmd(e)
	case cmdPutNX:
		evalPutNXCmd(e, c.b.scripts.putNX.sha, entryKey(prefix, op.Key), set, op.Key, op.Value, r.expireAt, r.now)
	case cmdGetMulti:
		multiCmd(e)
		zscoreCmd(e, set, op.Key)
		getCmd(e, entryKey(prefix, op.Key))
		execCmd(e)
	case cmdEraseMulti:
		multiCmd(e)
		zscoreCmd(e, set, op.Key)
		delCmd(e, entryKey(prefix, op.Key))
		zremCmd(e, set, op.Key)
		execCmd(e)
	case cmdSweep:
		evalSweepCmd(e, c.b.scripts.sweep.sha, set, r.now, sweepBatch, entryKey(prefix, nil))
	case cmdScriptLoad:
		scriptLoadCmd(e, r.script.body)
	case cmdCAS, cmdIncr, cmdScan:
		c.encodeExtended(r)
	}
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

// popN moves up to n requests from the front onto dst.
func (f *fifo) popN(dst []*req, n int) []*req {
	n = min(n, f.len())
	dst = append(dst, f.buf[f.head:f.head+n]...)
	clear(f.buf[f.head : f.head+n])
	f.head += n
	f.compact()
	return dst
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
