package redis

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/scriptd/scriptd/storagefw"
)

// resp spells out a RESP2 request by hand, the way the protocol defines it
// (https://redis.io/docs/latest/develop/reference/protocol-spec/): an array
// header "*<count>\r\n", then each argument as a bulk string
// "$<length>\r\n<bytes>\r\n". The lengths are written out in the tests, not
// computed, so a test does not share the encoder's arithmetic.
func resp(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

// encoded runs write against a fresh encoder and returns the bytes. It
// runs it twice: with a buffer that holds everything (each bulk string is
// written in one piece) and with bufio's smallest (written piecewise), and
// fails t unless both give the same bytes.
func encoded(t *testing.T, write func(e *encoder)) string {
	t.Helper()
	var out [2]string
	for i, size := range []int{bufSize, 16} {
		var buf bytes.Buffer
		e := encoder{w: bufio.NewWriterSize(&buf, size)}
		write(&e)
		e.w.Flush()
		out[i] = buf.String()
	}
	if out[0] != out[1] {
		t.Errorf("a full buffer changes the bytes: %q, then %q", out[0], out[1])
	}
	return out[0]
}

func TestCommandBuilders(t *testing.T) {
	key := []byte(`JSONv1;"k"`) // a serialized key, as the framework makes them
	entry := entryKey("pfx", key)
	for _, tc := range []struct {
		name  string
		write func(e *encoder)
		want  string
	}{
		{"GET", func(e *encoder) { getCmd(e, entry) },
			resp("*2", "$3", "GET", "$14", `pfx:JSONv1;"k"`)},
		{"DEL", func(e *encoder) { delCmd(e, entry) },
			resp("*2", "$3", "DEL", "$14", `pfx:JSONv1;"k"`)},
		{"SET", func(e *encoder) { setCmd(e, entry, []byte("v"), false, 0) },
			resp("*3", "$3", "SET", "$14", `pfx:JSONv1;"k"`, "$1", "v")},
		{"SET NX PXAT", func(e *encoder) { setCmd(e, entry, []byte("v"), true, 1700000010250) },
			resp("*6", "$3", "SET", "$14", `pfx:JSONv1;"k"`, "$1", "v", "$2", "NX", "$4", "PXAT", "$13", "1700000010250")},
		{"SET PXAT, binary value, empty prefix", func(e *encoder) { setCmd(e, entryKey("", []byte("k")), []byte("a\r\nb"), false, 5) },
			resp("*5", "$3", "SET", "$2", ":k", "$4", "a\r\nb", "$4", "PXAT", "$1", "5")},
		{"SET empty value", func(e *encoder) { setCmd(e, entry, nil, true, 0) },
			resp("*4", "$3", "SET", "$14", `pfx:JSONv1;"k"`, "$0", "", "$2", "NX")},
		{"MULTI", multiCmd, resp("*1", "$5", "MULTI")},
		{"EXEC", execCmd, resp("*1", "$4", "EXEC")},
		{"ZADD", func(e *encoder) { zaddCmd(e, "pfx_expire", 1700000010.25, key) },
			resp("*4", "$4", "ZADD", "$10", "pfx_expire", "$13", "1700000010.25", "$10", `JSONv1;"k"`)},
		{"ZREM", func(e *encoder) { zremCmd(e, "pfx_expire", key) },
			resp("*3", "$4", "ZREM", "$10", "pfx_expire", "$10", `JSONv1;"k"`)},
		{"ZSCORE", func(e *encoder) { zscoreCmd(e, "pfx_expire", key) },
			resp("*3", "$6", "ZSCORE", "$10", "pfx_expire", "$10", `JSONv1;"k"`)},
		{"EVALSHA putNX", func(e *encoder) {
			evalPutNXCmd(e, "0123456789abcdef0123456789abcdef01234567", entry, "pfx_expire", key, []byte("v"), 0, 1700000000.5)
		}, resp("*9", "$7", "EVALSHA", "$40", "0123456789abcdef0123456789abcdef01234567", "$1", "2",
			"$14", `pfx:JSONv1;"k"`, "$10", "pfx_expire", "$10", `JSONv1;"k"`, "$1", "v", "$1", "0", "$12", "1700000000.5")},
		{"EVALSHA sweep", func(e *encoder) {
			evalSweepCmd(e, "0123456789abcdef0123456789abcdef01234567", "pfx_expire", 1e-7, 1000, entryKey("pfx", nil))
		}, resp("*7", "$7", "EVALSHA", "$40", "0123456789abcdef0123456789abcdef01234567", "$1", "1",
			"$10", "pfx_expire", "$9", "0.0000001", "$4", "1000", "$4", "pfx:")},
		{"SCRIPT LOAD", func(e *encoder) { scriptLoadCmd(e, "return 1") },
			resp("*3", "$6", "SCRIPT", "$4", "LOAD", "$8", "return 1")},
		{"AUTH password", func(e *encoder) { authCmd(e, "", "s3cret") },
			resp("*2", "$4", "AUTH", "$6", "s3cret")},
		{"AUTH username password", func(e *encoder) { authCmd(e, "alice", "s3cret") },
			resp("*3", "$4", "AUTH", "$5", "alice", "$6", "s3cret")},
		{"INFO", func(e *encoder) { infoCmd(e, "server") },
			resp("*2", "$4", "INFO", "$6", "server")},
	} {
		if got := encoded(t, tc.write); got != tc.want {
			t.Errorf("%s: encoded\n%q\nwant\n%q", tc.name, got, tc.want)
		}
	}
}

// TestEncodeRequests checks the command sequence each kind of request is
// sent as, against the bytes spelled out by hand.
func TestEncodeRequests(t *testing.T) {
	be := &Backend{s: settings{keyPrefix: "p"}, expireSet: "p_expire", scripts: newScriptSet()}
	putNXSHA, sweepSHA := be.scripts.putNX.sha, be.scripts.sweep.sha
	op := func(key, value string, overwrite bool) *storagefw.Request {
		o := storagefw.NewRequest(storagefw.PutRequest, nil)
		o.Key, o.Value, o.Overwrite = []byte(key), []byte(value), overwrite
		return o
	}
	for _, tc := range []struct {
		name string
		r    *req
		want string
	}{
		{"live put, overwrite, no expiry", &req{kind: cmdSet, op: op("k", "v", true)},
			resp("*3", "$3", "SET", "$3", "p:k", "$1", "v")},
		{"live put, no overwrite, expiry (Zeek: ms truncated)", &req{kind: cmdSet, op: op("k", "v", false), expireAt: 1700000010.2509},
			resp("*6", "$3", "SET", "$3", "p:k", "$1", "v", "$2", "NX", "$4", "PXAT", "$13", "1700000010250")},
		{"live put, expiry under 1 ms is PXAT 1", &req{kind: cmdSet, op: op("k", "v", true), expireAt: 0.0001},
			resp("*5", "$3", "SET", "$3", "p:k", "$1", "v", "$4", "PXAT", "$1", "1")},
		{"live get", &req{kind: cmdGet, op: op("k", "", true)},
			resp("*2", "$3", "GET", "$3", "p:k")},
		{"live erase", &req{kind: cmdDel, op: op("k", "", true)},
			resp("*2", "$3", "DEL", "$3", "p:k")},
		{"replay put with expiry", &req{kind: cmdPutMulti, op: op("k", "v", true), expireAt: 12.5},
			resp("*1", "$5", "MULTI",
				"*3", "$3", "SET", "$3", "p:k", "$1", "v",
				"*4", "$4", "ZADD", "$8", "p_expire", "$4", "12.5", "$1", "k",
				"*1", "$4", "EXEC")},
		{"replay put without expiry", &req{kind: cmdPutMulti, op: op("k", "v", true)},
			resp("*1", "$5", "MULTI",
				"*3", "$3", "SET", "$3", "p:k", "$1", "v",
				"*3", "$4", "ZREM", "$8", "p_expire", "$1", "k",
				"*1", "$4", "EXEC")},
		{"replay put, no overwrite", &req{kind: cmdPutNX, op: op("k", "v", false), expireAt: 12.5, now: 10},
			resp("*9", "$7", "EVALSHA", "$40", putNXSHA, "$1", "2", "$3", "p:k", "$8", "p_expire",
				"$1", "k", "$1", "v", "$4", "12.5", "$2", "10")},
		{"replay get", &req{kind: cmdGetMulti, op: op("k", "", true)},
			resp("*1", "$5", "MULTI",
				"*3", "$6", "ZSCORE", "$8", "p_expire", "$1", "k",
				"*2", "$3", "GET", "$3", "p:k",
				"*1", "$4", "EXEC")},
		{"replay erase", &req{kind: cmdEraseMulti, op: op("k", "", true)},
			resp("*1", "$5", "MULTI",
				"*3", "$6", "ZSCORE", "$8", "p_expire", "$1", "k",
				"*2", "$3", "DEL", "$3", "p:k",
				"*3", "$4", "ZREM", "$8", "p_expire", "$1", "k",
				"*1", "$4", "EXEC")},
		{"sweep", &req{kind: cmdSweep, now: 1700000000.25},
			resp("*7", "$7", "EVALSHA", "$40", sweepSHA, "$1", "1", "$8", "p_expire",
				"$13", "1700000000.25", "$4", "1000", "$2", "p:")},
		{"script load", &req{kind: cmdScriptLoad, script: &script{body: "return 1"}},
			resp("*3", "$6", "SCRIPT", "$4", "LOAD", "$8", "return 1")},
	} {
		c := &conn{b: be}
		got := encoded(t, func(e *encoder) {
			c.enc.w = e.w
			c.encode(tc.r)
		})
		if got != tc.want {
			t.Errorf("%s: encoded\n%q\nwant\n%q", tc.name, got, tc.want)
		}
		// The reader expects one reply per command sent.
		if n := strings.Count(got, "\r\n*") + 1; n != tc.r.kind.replies() {
			t.Errorf("%s: %d commands, but cmdKind.replies() = %d", tc.name, n, tc.r.kind.replies())
		}
	}
}
