package storagetest

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/scriptd/scriptd/storagefw"
)

// The conformance cases of the calls beyond Zeek (batches,
// compare_and_swap, increment, scan, cancellation), at the Request level. A
// case whose capability the backend does not announce (storagefw.Batcher,
// ...) is skipped.

func init() {
	cases = append(cases,
		testCase{"BatchCodes", caseBatchCodes},
		testCase{"BatchRepeatedKeyLastWins", caseBatchRepeatedKey},
		testCase{"BatchReadYourWrites", caseBatchReadYourWrites},
		testCase{"BatchExpiry", caseBatchExpiry},
		testCase{"BatchLarge", caseBatchLarge},
		testCase{"CASCodes", caseCASCodes},
		testCase{"CASExpiry", caseCASExpiry},
		testCase{"CASRace", caseCASRace},
		testCase{"IncrementCodes", caseIncrementCodes},
		testCase{"IncrementExpiry", caseIncrementExpiry},
		testCase{"IncrementConcurrent", caseIncrementConcurrent},
		testCase{"ScanPrefixes", caseScanPrefixes},
		testCase{"ScanExpired", caseScanExpired},
		testCase{"ScanUnderConcurrentWrites", caseScanConcurrent},
		testCase{"CancelBeforeTaken", caseCancel},
	)
}

// GetManyOp builds a get_many of keys issued at now.
func GetManyOp(keys [][]byte, now float64) *Call {
	c := newCall(storagefw.GetManyRequest)
	c.Op.Now = now
	for _, k := range keys {
		c.Op.Entries = append(c.Op.Entries, storagefw.BatchEntry{Key: k})
	}
	return c
}

// PutManyOp builds a put_many of entries issued at now.
func PutManyOp(entries []storagefw.BatchEntry, now float64) *Call {
	c := newCall(storagefw.PutManyRequest)
	c.Op.Entries, c.Op.Now = entries, now
	return c
}

// EraseManyOp builds an erase_many of keys issued at now.
func EraseManyOp(keys [][]byte, now float64) *Call {
	c := newCall(storagefw.EraseManyRequest)
	c.Op.Now = now
	for _, k := range keys {
		c.Op.Entries = append(c.Op.Entries, storagefw.BatchEntry{Key: k})
	}
	return c
}

// CASOp builds a compare_and_swap: expected nil means "absent", value nil
// means "erase". The new entry expires at expireAt (keep: keeps the old
// entry's expiry).
func CASOp(key, expected, value []byte, expireAt float64, keep bool, now float64) *Call {
	c := newCall(storagefw.CompareAndSwapRequest)
	c.Op.Key, c.Op.Now = key, now
	c.Op.Expected, c.Op.ExpectAbsent = expected, expected == nil
	c.Op.Value, c.Op.Erase = value, value == nil
	c.Op.ExpireAt, c.Op.KeepExpiry = expireAt, keep
	return c
}

// IncOp builds an increment by an integer.
func IncOp(key []byte, num storagefw.NumKind, by int64, now float64) *Call {
	c := newCall(storagefw.IncrementRequest)
	c.Op.Key, c.Op.Now, c.Op.Num = key, now, num
	c.Op.DeltaInt, c.Op.DeltaFloat, c.Op.DeltaIsInt = by, float64(by), true
	c.Op.KeepExpiry = true
	return c
}

// IncFloatOp builds an increment by a double.
func IncFloatOp(key []byte, num storagefw.NumKind, by float64, now float64) *Call {
	c := newCall(storagefw.IncrementRequest)
	c.Op.Key, c.Op.Now, c.Op.Num = key, now, num
	c.Op.DeltaFloat = by
	c.Op.KeepExpiry = true
	return c
}

// ScanOp builds a scan.
func ScanOp(prefix, cursor []byte, limit int, now float64) *Call {
	c := newCall(storagefw.ScanRequest)
	c.Op.Prefix, c.Op.Cursor, c.Op.Limit, c.Op.Now = prefix, cursor, limit, now
	return c
}

// StringPrefix is the serialized-key prefix of string keys starting with s.
func StringPrefix(s string) []byte {
	b := Ser(s)
	return b[:len(b)-1]
}

func (e *env) need(capability string) {
	e.t.Helper()
	ok := false
	switch capability {
	case "batches":
		c, is := e.b.(storagefw.Batcher)
		ok = is && c.SupportsBatches()
	case "cas":
		c, is := e.b.(storagefw.Swapper)
		ok = is && c.SupportsCompareAndSwap()
	case "increment":
		c, is := e.b.(storagefw.Incrementer)
		ok = is && c.SupportsIncrement()
	case "scan":
		c, is := e.b.(storagefw.Scanner)
		ok = is && c.SupportsScan()
	}
	if !ok {
		e.t.Skipf("backend does not support %s", capability)
	}
}

// codes renders a batch reply's entry codes.
func codes(r storagefw.Reply) string {
	parts := make([]string, len(r.Entries))
	for i, e := range r.Entries {
		parts[i] = string(e.Code)
	}
	return strings.Join(parts, ",")
}

func (e *env) expectCodes(what string, r storagefw.Reply, want string) {
	e.t.Helper()
	if r.Code != storagefw.Success || codes(r) != want {
		e.t.Fatalf("%s: %s (%s) entries [%s], want SUCCESS [%s]", what, r.Code, r.Error, codes(r), want)
	}
}

func caseBatchCodes(e *env) {
	e.need("batches")
	k := func(s string) []byte { return Ser(s) }
	r := Do(e.t, e.b, PutManyOp([]storagefw.BatchEntry{
		{Key: k("a"), Value: Ser(1), Overwrite: true},
		{Key: k("b"), Value: Ser(2), Overwrite: true},
		{Key: k("a"), Value: Ser(3), Overwrite: false},
	}, e.now()))
	e.expectCodes("put_many", r, "SUCCESS,SUCCESS,KEY_EXISTS")
	r = Do(e.t, e.b, GetManyOp([][]byte{k("b"), k("zz"), k("a")}, e.now()))
	e.expectCodes("get_many", r, "SUCCESS,KEY_NOT_FOUND,SUCCESS")
	Expect(e.t, "get_many b", r.Entries[0], storagefw.Success, Ser(2))
	Expect(e.t, "get_many a", r.Entries[2], storagefw.Success, Ser(1))
	r = Do(e.t, e.b, EraseManyOp([][]byte{k("a"), k("nope"), k("a")}, e.now()))
	e.expectCodes("erase_many", r, "SUCCESS,KEY_NOT_FOUND,KEY_NOT_FOUND")
	Expect(e.t, "get a after erase_many", e.get(k("a")), storagefw.KeyNotFound, nil)
	for _, c := range []*Call{GetManyOp(nil, e.now()), PutManyOp(nil, e.now()), EraseManyOp(nil, e.now())} {
		r = Do(e.t, e.b, c)
		if r.Code != storagefw.Success || len(r.Entries) != 0 {
			e.t.Fatalf("empty %v: %s %q with %d entries", c.Op.Kind, r.Code, r.Error, len(r.Entries))
		}
	}
}

func caseBatchRepeatedKey(e *env) {
	e.need("batches")
	r := Do(e.t, e.b, PutManyOp([]storagefw.BatchEntry{
		{Key: Ser("k"), Value: Ser(1), Overwrite: true},
		{Key: Ser("k"), Value: Ser(2), Overwrite: true},
	}, e.now()))
	e.expectCodes("put_many", r, "SUCCESS,SUCCESS")
	Expect(e.t, "get", e.get(Ser("k")), storagefw.Success, Ser(2))
}

// caseBatchReadYourWrites submits singles and batches without waiting: each
// sees everything submitted before it and nothing after.
func caseBatchReadYourWrites(e *env) {
	e.need("batches")
	now := e.now()
	calls := []*Call{
		PutOp(Ser("x"), Ser(1), true, 0, now),
		GetManyOp([][]byte{Ser("x"), Ser("y")}, now),
		PutManyOp([]storagefw.BatchEntry{{Key: Ser("y"), Value: Ser(2), Overwrite: true}, {Key: Ser("x"), Value: Ser(3), Overwrite: true}}, now),
		GetOp(Ser("y"), now),
		GetOp(Ser("x"), now),
		EraseManyOp([][]byte{Ser("x")}, now),
		GetManyOp([][]byte{Ser("x"), Ser("y")}, now),
	}
	for _, c := range calls { // separate Submits, none awaited
		Submit(e.b, c)
	}
	Expect(e.t, "put x", calls[0].Wait(e.t), storagefw.Success, nil)
	r := calls[1].Wait(e.t)
	e.expectCodes("get_many after put", r, "SUCCESS,KEY_NOT_FOUND")
	Expect(e.t, "x", r.Entries[0], storagefw.Success, Ser(1))
	e.expectCodes("put_many", calls[2].Wait(e.t), "SUCCESS,SUCCESS")
	Expect(e.t, "get y after put_many", calls[3].Wait(e.t), storagefw.Success, Ser(2))
	Expect(e.t, "get x after put_many", calls[4].Wait(e.t), storagefw.Success, Ser(3))
	e.expectCodes("erase_many", calls[5].Wait(e.t), "SUCCESS")
	r = calls[6].Wait(e.t)
	e.expectCodes("get_many after erase_many", r, "KEY_NOT_FOUND,SUCCESS")
}

func caseBatchExpiry(e *env) {
	e.need("batches")
	now := e.now()
	r := Do(e.t, e.b, PutManyOp([]storagefw.BatchEntry{
		{Key: Ser("short"), Value: Ser(1), Overwrite: true, ExpireAt: now + 10},
		{Key: Ser("long"), Value: Ser(2), Overwrite: true},
	}, now))
	e.expectCodes("put_many", r, "SUCCESS,SUCCESS")
	e.clock.Advance(20)
	r = Do(e.t, e.b, GetManyOp([][]byte{Ser("short"), Ser("long")}, e.now()))
	e.expectCodes("get_many after expiry", r, "KEY_NOT_FOUND,SUCCESS")
	r = Do(e.t, e.b, PutManyOp([]storagefw.BatchEntry{{Key: Ser("short"), Value: Ser(3), Overwrite: false}}, e.now()))
	e.expectCodes("put_many overwrite:false over expired", r, "SUCCESS")
	r = Do(e.t, e.b, EraseManyOp([][]byte{Ser("short")}, e.now()))
	e.expectCodes("erase_many", r, "SUCCESS")
}

func caseBatchLarge(e *env) {
	e.need("batches")
	const n = 5000
	entries := make([]storagefw.BatchEntry, n)
	keys := make([][]byte, n)
	for i := range entries {
		keys[i] = Ser(fmt.Sprintf("k%05d", i))
		entries[i] = storagefw.BatchEntry{Key: keys[i], Value: Ser(i), Overwrite: true}
	}
	r := Do(e.t, e.b, PutManyOp(entries, e.now()))
	if r.Code != storagefw.Success || len(r.Entries) != n {
		e.t.Fatalf("put_many of %d: %s %q, %d entries", n, r.Code, r.Error, len(r.Entries))
	}
	r = Do(e.t, e.b, GetManyOp(keys, e.now()))
	if r.Code != storagefw.Success || len(r.Entries) != n {
		e.t.Fatalf("get_many of %d: %s %q, %d entries", n, r.Code, r.Error, len(r.Entries))
	}
	for i, en := range r.Entries {
		Expect(e.t, "entry", en, storagefw.Success, Ser(i))
	}
}

func caseCASCodes(e *env) {
	e.need("cas")
	k := Ser("k")
	now := e.now()
	Expect(e.t, "absent -> create", Do(e.t, e.b, CASOp(k, nil, Ser("v1"), 0, false, now)), storagefw.Success, nil)
	Expect(e.t, "get", e.get(k), storagefw.Success, Ser("v1"))
	Expect(e.t, "absent expected, present", Do(e.t, e.b, CASOp(k, nil, Ser("v9"), 0, false, now)), storagefw.KeyExists, Ser("v1"))
	Expect(e.t, "v1 -> v2", Do(e.t, e.b, CASOp(k, Ser("v1"), Ser("v2"), 0, true, now)), storagefw.Success, nil)
	Expect(e.t, "stale expected", Do(e.t, e.b, CASOp(k, Ser("v1"), Ser("v3"), 0, true, now)), storagefw.KeyExists, Ser("v2"))
	Expect(e.t, "get after conflict", e.get(k), storagefw.Success, Ser("v2"))
	Expect(e.t, "missing with expected", Do(e.t, e.b, CASOp(Ser("gone"), Ser("v1"), Ser("v2"), 0, true, now)), storagefw.KeyNotFound, nil)
	Expect(e.t, "missing stays missing", e.get(Ser("gone")), storagefw.KeyNotFound, nil)
	Expect(e.t, "erase on match, wrong value", Do(e.t, e.b, CASOp(k, Ser("nope"), nil, 0, true, now)), storagefw.KeyExists, Ser("v2"))
	Expect(e.t, "erase on match", Do(e.t, e.b, CASOp(k, Ser("v2"), nil, 0, true, now)), storagefw.Success, nil)
	Expect(e.t, "erased", e.get(k), storagefw.KeyNotFound, nil)
	Expect(e.t, "erase if absent, absent", Do(e.t, e.b, CASOp(k, nil, nil, 0, true, now)), storagefw.Success, nil)
	e.put(k, Ser("v4"), true, 0)
	Expect(e.t, "erase if absent, present", Do(e.t, e.b, CASOp(k, nil, nil, 0, true, now)), storagefw.KeyExists, Ser("v4"))
	// Bytes, not meaning: the same number written differently differs.
	Expect(e.t, "exact bytes", Do(e.t, e.b, CASOp(k, Ser("v4 "), Ser("v5"), 0, true, now)), storagefw.KeyExists, Ser("v4"))
}

func caseCASExpiry(e *env) {
	e.need("cas")
	now := e.now()
	k := Ser("k")
	e.put(k, Ser(1), true, now+10)
	// KeepExpiry: the swapped value still expires at now+10.
	Expect(e.t, "swap keeping expiry", Do(e.t, e.b, CASOp(k, Ser(1), Ser(2), 0, true, now)), storagefw.Success, nil)
	e.clock.Advance(5)
	Expect(e.t, "still live", e.get(k), storagefw.Success, Ser(2))
	e.clock.Advance(10)
	Expect(e.t, "expired with the old expiry", e.get(k), storagefw.KeyNotFound, nil)
	// An expired entry is absent: expecting a value finds nothing, expecting absence wins.
	Expect(e.t, "expected value on expired", Do(e.t, e.b, CASOp(k, Ser(2), Ser(3), 0, true, e.now())), storagefw.KeyNotFound, nil)
	Expect(e.t, "absent over expired", Do(e.t, e.b, CASOp(k, nil, Ser(4), 0, true, e.now())), storagefw.Success, nil)
	e.clock.Advance(100)
	Expect(e.t, "new entry never expires", e.get(k), storagefw.Success, Ser(4))
	// A given expiry replaces the old one.
	Expect(e.t, "swap with expiry", Do(e.t, e.b, CASOp(k, Ser(4), Ser(5), e.now()+10, false, e.now())), storagefw.Success, nil)
	e.clock.Advance(11)
	Expect(e.t, "expired by the new expiry", e.get(k), storagefw.KeyNotFound, nil)
}

// caseCASRace races 300 compare-and-swaps from many goroutines: exactly one wins.
func caseCASRace(e *env) {
	e.need("cas")
	const n = 300
	for _, round := range []struct {
		name     string
		expected []byte
	}{{"create", nil}, {"replace", Ser("start")}} {
		k := Ser("race-" + round.name)
		if round.expected != nil {
			e.put(k, round.expected, true, 0)
		}
		calls := make([]*Call, n)
		var wg sync.WaitGroup
		for i := range calls {
			calls[i] = CASOp(k, round.expected, Ser(i), 0, true, e.now())
			wg.Add(1)
			go func() { defer wg.Done(); Submit(e.b, calls[i]) }()
		}
		wg.Wait()
		winners := 0
		winner := -1
		for i, c := range calls {
			r := c.Wait(e.t)
			switch r.Code {
			case storagefw.Success:
				winners++
				winner = i
			case storagefw.KeyExists:
			default:
				e.t.Fatalf("%s: racer %d: %s %q", round.name, i, r.Code, r.Error)
			}
		}
		if winners != 1 {
			e.t.Fatalf("%s: %d winners, want exactly 1", round.name, winners)
		}
		Expect(e.t, round.name+": stored value is the winner's", e.get(k), storagefw.Success, Ser(winner))
	}
}

func caseIncrementCodes(e *env) {
	e.need("increment")
	now := e.now()
	k := Ser("n")
	Expect(e.t, "absent counts as 0", Do(e.t, e.b, IncOp(k, storagefw.NumCount, 1, now)), storagefw.Success, []byte("JSONv1;1"))
	Expect(e.t, "by 5", Do(e.t, e.b, IncOp(k, storagefw.NumCount, 5, now)), storagefw.Success, []byte("JSONv1;6"))
	Expect(e.t, "stored bytes", e.get(k), storagefw.Success, []byte("JSONv1;6"))
	r := Do(e.t, e.b, IncOp(k, storagefw.NumCount, -7, now))
	if r.Code != storagefw.ValTypeMismatch {
		e.t.Fatalf("count below 0: %s %q, want VAL_TYPE_MISMATCH", r.Code, r.Error)
	}
	Expect(e.t, "unchanged", e.get(k), storagefw.Success, []byte("JSONv1;6"))
	Expect(e.t, "count down to 0", Do(e.t, e.b, IncOp(k, storagefw.NumCount, -6, now)), storagefw.Success, []byte("JSONv1;0"))
	Expect(e.t, "int below 0", Do(e.t, e.b, IncOp(Ser("i"), storagefw.NumInt, -3, now)), storagefw.Success, []byte("JSONv1;-3"))
	Expect(e.t, "double", Do(e.t, e.b, IncFloatOp(Ser("d"), storagefw.NumDouble, 1.5, now)), storagefw.Success, nil)
	r = Do(e.t, e.b, IncFloatOp(Ser("d"), storagefw.NumDouble, 0.25, now))
	if r.Code != storagefw.Success || string(r.Value) != "JSONv1;1.75" {
		e.t.Fatalf("double 1.5 + 0.25: %s %q %q", r.Code, r.Error, r.Value)
	}
	Expect(e.t, "any stays an integer", Do(e.t, e.b, IncOp(Ser("a"), storagefw.NumAny, 2, now)), storagefw.Success, []byte("JSONv1;2"))
	Expect(e.t, "any becomes a double", Do(e.t, e.b, IncFloatOp(Ser("a"), storagefw.NumAny, 0.5, now)), storagefw.Success, []byte("JSONv1;2.5"))
	e.put(Ser("s"), Ser("text"), true, 0)
	r = Do(e.t, e.b, IncOp(Ser("s"), storagefw.NumAny, 1, now))
	if r.Code != storagefw.ValTypeMismatch {
		e.t.Fatalf("increment of a string: %s %q, want VAL_TYPE_MISMATCH", r.Code, r.Error)
	}
	Expect(e.t, "string unchanged", e.get(Ser("s")), storagefw.Success, Ser("text"))
	e.put(Ser("g"), []byte("not serialized"), true, 0)
	r = Do(e.t, e.b, IncOp(Ser("g"), storagefw.NumAny, 1, now))
	if r.Code != storagefw.UnserializationFailed {
		e.t.Fatalf("increment of garbage: %s %q, want UNSERIALIZATION_FAILED", r.Code, r.Error)
	}
	Expect(e.t, "garbage unchanged", e.get(Ser("g")), storagefw.Success, []byte("not serialized"))
	e.put(Ser("f"), []byte("JSONv1;2.5"), true, 0)
	r = Do(e.t, e.b, IncOp(Ser("f"), storagefw.NumCount, 1, now))
	if r.Code != storagefw.ValTypeMismatch {
		e.t.Fatalf("count increment of 2.5: %s %q, want VAL_TYPE_MISMATCH", r.Code, r.Error)
	}
}

func caseIncrementExpiry(e *env) {
	e.need("increment")
	now := e.now()
	k := Ser("n")
	e.put(k, Ser(10), true, now+10)
	Expect(e.t, "keeps expiry", Do(e.t, e.b, IncOp(k, storagefw.NumCount, 1, now)), storagefw.Success, []byte("JSONv1;11"))
	e.clock.Advance(11)
	Expect(e.t, "expired with its old expiry", e.get(k), storagefw.KeyNotFound, nil)
	Expect(e.t, "expired counts as 0", Do(e.t, e.b, IncOp(k, storagefw.NumCount, 1, e.now())), storagefw.Success, []byte("JSONv1;1"))
	e.clock.Advance(100)
	Expect(e.t, "new entry never expires", e.get(k), storagefw.Success, []byte("JSONv1;1"))
	c := IncOp(k, storagefw.NumCount, 1, e.now())
	c.Op.KeepExpiry, c.Op.ExpireAt = false, e.now()+5
	Expect(e.t, "set expiry", Do(e.t, e.b, c), storagefw.Success, []byte("JSONv1;2"))
	e.clock.Advance(6)
	Expect(e.t, "expired by the set expiry", e.get(k), storagefw.KeyNotFound, nil)
}

func caseIncrementConcurrent(e *env) {
	e.need("increment")
	const n = 500
	calls := make([]*Call, n)
	var wg sync.WaitGroup
	for i := range calls {
		calls[i] = IncOp(Ser("hot"), storagefw.NumCount, 1, e.now())
		wg.Add(1)
		go func() { defer wg.Done(); Submit(e.b, calls[i]) }()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, c := range calls {
		r := c.Wait(e.t)
		if r.Code != storagefw.Success {
			e.t.Fatalf("increment: %s %q", r.Code, r.Error)
		}
		if seen[string(r.Value)] {
			e.t.Fatalf("two increments returned %q", r.Value)
		}
		seen[string(r.Value)] = true
	}
	Expect(e.t, "total", e.get(Ser("hot")), storagefw.Success, []byte(fmt.Sprintf("JSONv1;%d", n)))
}

// scanAll pages through a scan and returns the keys listed (with repeats).
func (e *env) scanAll(prefix []byte, limit int) []string {
	e.t.Helper()
	var keys []string
	var cursor []byte
	for pages := 0; ; pages++ {
		if pages > 100000 {
			e.t.Fatal("scan does not end")
		}
		r := Do(e.t, e.b, ScanOp(prefix, cursor, limit, e.now()))
		if r.Code != storagefw.Success {
			e.t.Fatalf("scan: %s %q", r.Code, r.Error)
		}
		for _, en := range r.Entries {
			if !bytes.HasPrefix(en.Key, prefix) {
				e.t.Fatalf("scan with prefix %q listed %q", prefix, en.Key)
			}
			keys = append(keys, string(en.Key))
		}
		if r.Cursor == nil {
			return keys
		}
		cursor = r.Cursor
	}
}

func uniq(keys []string) []string {
	m := map[string]bool{}
	var out []string
	for _, k := range keys {
		if !m[k] {
			m[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// scanKeys are keys whose prefixes contain the characters SQL LIKE, Redis
// globs and JSON escaping treat specially, and non-ASCII.
var scanKeys = []string{
	"dns:a", "dns:b", "dns%c", "dns_d", "dnsXe", "dns*f", "dns?g", "dns[h]", `dns\i`, `dns"j`, "dns'k",
	"dnś:l", "dnś:m", "日本:n", "日本:o", "ssl:a", "", "d", "dns",
}

func caseScanPrefixes(e *env) {
	e.need("scan")
	for _, k := range scanKeys {
		e.put(Ser(k), Ser("v:"+k), true, 0)
	}
	all := uniq(e.scanAll(nil, 3))
	if len(all) != len(scanKeys) {
		e.t.Fatalf("full scan listed %d keys, want %d: %q", len(all), len(scanKeys), all)
	}
	for _, p := range []string{"dns:", "dns%", "dns_", "dns*", "dns?", "dns[", `dns\`, `dns"`, "dns'", "dnś:", "日本", "日", "dns", "d", "", "zzz", "ssl:"} {
		var want []string
		for _, k := range scanKeys {
			if strings.HasPrefix(k, p) {
				want = append(want, string(Ser(k)))
			}
		}
		sort.Strings(want)
		for _, limit := range []int{1, 2, 1000} {
			got := uniq(e.scanAll(StringPrefix(p), limit))
			if strings.Join(got, "|") != strings.Join(want, "|") {
				e.t.Fatalf("prefix %q limit %d: listed %q, want %q", p, limit, got, want)
			}
		}
	}
	// The listed values are the stored bytes. (A page may be empty and
	// still have a cursor.)
	var listed []storagefw.Reply
	var cursor []byte
	for {
		r := Do(e.t, e.b, ScanOp(StringPrefix("ssl:"), cursor, 10, e.now()))
		if r.Code != storagefw.Success {
			e.t.Fatalf("scan ssl: %s %q", r.Code, r.Error)
		}
		listed = append(listed, r.Entries...)
		if cursor = r.Cursor; cursor == nil {
			break
		}
	}
	if len(listed) != 1 || string(listed[0].Value) != string(Ser("v:ssl:a")) {
		e.t.Fatalf("scan ssl: %+v", listed)
	}
}

func caseScanExpired(e *env) {
	e.need("scan")
	now := e.now()
	for i := range 10 {
		exp := 0.0
		if i%2 == 0 {
			exp = now + 10
		}
		e.put(Ser(fmt.Sprintf("k%d", i)), Ser(i), true, exp)
	}
	if got := uniq(e.scanAll(nil, 3)); len(got) != 10 {
		e.t.Fatalf("before expiry: %d keys", len(got))
	}
	e.clock.Advance(11)
	got := uniq(e.scanAll(nil, 3))
	if len(got) != 5 {
		e.t.Fatalf("after expiry: listed %q, want the 5 odd keys", got)
	}
	for _, k := range got {
		var i int
		fmt.Sscanf(strings.TrimPrefix(k, `JSONv1;"k`), "%d", &i)
		if i%2 == 0 {
			e.t.Fatalf("expired key %s listed", k)
		}
	}
}

// caseScanConcurrent scans while other keys are written and erased: every
// key live and unchanged throughout is listed.
func caseScanConcurrent(e *env) {
	e.need("scan")
	const stable = 2000
	var entries []storagefw.BatchEntry
	for i := range stable {
		entries = append(entries, storagefw.BatchEntry{Key: Ser(fmt.Sprintf("s%05d", i)), Value: Ser(i), Overwrite: true})
	}
	if _, ok := e.b.(storagefw.Batcher); ok {
		e.expectCodes("put_many", Do(e.t, e.b, PutManyOp(entries, e.now())), strings.TrimSuffix(strings.Repeat("SUCCESS,", stable), ","))
	} else {
		for _, en := range entries {
			e.put(en.Key, en.Value, true, 0)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := Ser(fmt.Sprintf("v%d-%05d", w, i%500))
				var c *Call
				if i%3 == 2 {
					c = EraseOp(k, e.now())
				} else {
					c = PutOp(k, Ser(i), true, 0, e.now())
				}
				Submit(e.b, c)
				c.Wait(e.t)
			}
		}()
	}
	for _, prefix := range [][]byte{nil, StringPrefix("s")} {
		got := map[string]bool{}
		for _, k := range e.scanAll(prefix, 97) {
			got[k] = true
		}
		for _, en := range entries {
			if !got[string(en.Key)] {
				close(stop)
				wg.Wait()
				e.t.Fatalf("scan (prefix %q) under concurrent writes missed %s", prefix, en.Key)
			}
		}
	}
	close(stop)
	wg.Wait()
}

// caseCancel: a request cancelled before the backend takes it completes
// with OPERATION_FAILED "cancelled" and has no effect; one already done
// cannot be cancelled.
func caseCancel(e *env) {
	c := PutOp(Ser("k"), Ser(1), true, 0, e.now())
	if !c.Op.Cancel() {
		e.t.Fatal("Cancel of a request not yet submitted failed")
	}
	Submit(e.b, c)
	r := c.Wait(e.t)
	if r.Code != storagefw.OperationFailed || r.Error != "cancelled" {
		e.t.Fatalf("cancelled put: %s %q", r.Code, r.Error)
	}
	Expect(e.t, "cancelled put had no effect", e.get(Ser("k")), storagefw.KeyNotFound, nil)
	d := PutOp(Ser("k"), Ser(2), true, 0, e.now())
	Expect(e.t, "put", Do(e.t, e.b, d), storagefw.Success, nil)
	if d.Op.Cancel() {
		e.t.Fatal("Cancel of a completed request succeeded")
	}
	Expect(e.t, "get", e.get(Ser("k")), storagefw.Success, Ser(2))
}
