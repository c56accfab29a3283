package redis

import (
	"net"
	"slices"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/scriptd/scriptd/storagefw"
)

// offlineBackend is a Backend with a rueidis client that never connected:
// enough to build commands (rueidis's builder) without a server.
func offlineBackend(t testing.TB, prefix string) *Backend {
	t.Helper()
	c, _ := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{"127.0.0.1:1"}, ForceSingleClient: true,
		DisableCache: true, AlwaysRESP2: true, Dialer: offlineDialer()})
	if c == nil {
		t.Fatal("rueidis.NewClient returned no client")
	}
	t.Cleanup(c.Close)
	return &Backend{s: settings{keyPrefix: prefix}, expireSet: prefix + "_expire", scripts: newScriptSet(), client: c}
}

// TestCommands checks the words of the command each kind of request is
// sent as: Zeek's own commands in live mode (SET/GET/DEL, PXAT in ms
// truncated as Zeek does), the replay scripts over Zeek's keys otherwise.
func TestCommands(t *testing.T) {
	be := offlineBackend(t, "p")
	sha := func(s script) string { return s.sha }
	op := func(key, value string, overwrite bool) *storagefw.Request {
		o := storagefw.NewRequest(storagefw.PutRequest, nil)
		o.Key, o.Value, o.Overwrite = []byte(key), []byte(value), overwrite
		return o
	}
	cas := storagefw.NewRequest(storagefw.CompareAndSwapRequest, nil)
	cas.Key, cas.Expected, cas.Value, cas.KeepExpiry = []byte("k"), []byte("old"), []byte("new"), true
	inc := storagefw.NewRequest(storagefw.IncrementRequest, nil)
	inc.Key, inc.DeltaInt, inc.DeltaIsInt, inc.Num = []byte("k"), -3, true, storagefw.NumCount
	scan := storagefw.NewRequest(storagefw.ScanRequest, nil)
	scan.Prefix, scan.Limit = []byte(`JSONv1;"a*`), 10
	for _, tc := range []struct {
		name string
		r    *req
		want []string
	}{
		{"live put, overwrite, no expiry", &req{kind: cmdSet, op: op(`JSONv1;"k"`, "v", true)},
			[]string{"SET", `p:JSONv1;"k"`, "v"}},
		{"live put, no overwrite, expiry (Zeek: ms truncated)", &req{kind: cmdSet, op: op("k", "v", false), expireAt: 1700000010.2509},
			[]string{"SET", "p:k", "v", "NX", "PXAT", "1700000010250"}},
		{"live put, expiry under 1 ms is PXAT 1", &req{kind: cmdSet, op: op("k", "v", true), expireAt: 0.0001},
			[]string{"SET", "p:k", "v", "PXAT", "1"}},
		{"live put, binary value", &req{kind: cmdSet, op: op("k", "a\r\nb\x00", true)},
			[]string{"SET", "p:k", "a\r\nb\x00"}},
		{"live get", &req{kind: cmdGet, op: op("k", "", true)}, []string{"GET", "p:k"}},
		{"live erase", &req{kind: cmdDel, op: op("k", "", true)}, []string{"DEL", "p:k"}},
		{"replay put with expiry", &req{kind: cmdPutReplay, op: op("k", "v", true), expireAt: 12.5},
			[]string{"EVALSHA", sha(be.scripts.put), "2", "p:k", "p_expire", "k", "v", "12.5"}},
		{"replay put without expiry", &req{kind: cmdPutReplay, op: op("k", "v", true)},
			[]string{"EVALSHA", sha(be.scripts.put), "2", "p:k", "p_expire", "k", "v", "0"}},
		{"replay put, no overwrite", &req{kind: cmdPutNX, op: op("k", "v", false), expireAt: 12.5, now: 10},
			[]string{"EVALSHA", sha(be.scripts.putNX), "2", "p:k", "p_expire", "k", "v", "12.5", "10"}},
		{"replay get", &req{kind: cmdGetReplay, op: op("k", "", true), now: 1e-7},
			[]string{"EVALSHA", sha(be.scripts.get), "2", "p:k", "p_expire", "k", "0.0000001"}},
		{"replay erase", &req{kind: cmdEraseReplay, op: op("k", "", true), now: 10},
			[]string{"EVALSHA", sha(be.scripts.erase), "2", "p:k", "p_expire", "k", "10"}},
		{"sweep", &req{kind: cmdSweep, now: 1700000000.25},
			[]string{"EVALSHA", sha(be.scripts.sweep), "1", "p_expire", "1700000000.25", "1000", "p:"}},
		{"compare_and_swap keeping expiry", &req{kind: cmdCAS, op: cas, now: 5},
			[]string{"EVALSHA", sha(be.scripts.cas), "2", "p:k", "p_expire", "k", "K", "old", "new", "0", "5", "0"}},
		{"increment, replay", &req{kind: cmdIncr, op: inc, now: 5, expireAt: 7, replay: true},
			[]string{"EVALSHA", sha(be.scripts.incr), "2", "p:k", "p_expire", "k", "RC", "-3", "", "7", "5", "0"}},
		{"scan", &req{kind: cmdScan, op: scan, now: 5},
			[]string{"EVALSHA", sha(be.scripts.scan), "1", "p_expire", "0", `p:JSONv1;"a\**`, "10", "0", "5", "p:"}},
	} {
		cmd := be.command(tc.r)
		if got := cmd.Commands(); !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
	B := be.client.B()
	for _, tc := range []struct {
		got  rueidis.Completed
		want []string
	}{
		{scriptLoadCmd(B, "return 1"), []string{"SCRIPT", "LOAD", "return 1"}},
		{infoCmd(B, "server"), []string{"INFO", "server"}},
		{roleCmd(B), []string{"ROLE"}},
		{clusterSlotsCmd(B), []string{"CLUSTER", "SLOTS"}},
	} {
		if got := tc.got.Commands(); !slices.Equal(got, tc.want) { //nolint
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// TestSlotTags checks the cluster's slot sets: for every slot, slotTag's
// tag hashes to it, and keySlot follows Redis's hash tag rules.
func TestSlotTags(t *testing.T) {
	for s := range uint16(numSlots) {
		tag := slotTag(s)
		if got := keySlot(tag); got != s {
			t.Fatalf("slot %d: tag %q hashes to %d", s, tag, got)
		}
		if got := keySlot(slotSet("pfx", s)); got != s {
			t.Fatalf("slot %d: set %q hashes to %d", s, slotSet("pfx", s), got)
		}
	}
	// Redis's examples (CLUSTER KEYSLOT).
	for key, want := range map[string]uint16{
		"123456789": 12739, "somekey": 11058, "foo{bar}": keySlot("bar"), "{user1000}.following": keySlot("user1000"),
		"foo{}{bar}": crc16("foo{}{bar}") % numSlots, "foo{{bar}}zap": keySlot("{bar"), "foo{bar}{zap}": keySlot("bar"),
	} {
		if got := keySlot(key); got != want {
			t.Errorf("keySlot(%q) = %d, want %d", key, got, want)
		}
	}
	// A prefix holding a whole tag keeps sets with their entries.
	if keySlot(slotSet("{app}", keySlot("{app}:x"))) != keySlot("{app}:x") {
		t.Error("prefix {app}: set and entry in different slots")
	}
	for p, ok := range map[string]bool{"app": true, "{app}": true, "a{b}c": true, "a{b": false, "{}x": false, "a}b": true} {
		if err := checkClusterPrefix(p); (err == nil) != ok {
			t.Errorf("checkClusterPrefix(%q) = %v", p, err)
		}
	}
}

func offlineDialer() net.Dialer { return net.Dialer{Timeout: 100 * time.Millisecond} }
