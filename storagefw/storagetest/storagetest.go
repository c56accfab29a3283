// Package storagetest is a backend-agnostic conformance suite for
// storagefw.Backend implementations, plus small helpers for driving a
// backend from tests (a settable network-time clock, synchronous and
// asynchronous op submission) and a goroutine-leak check (VerifyNoLeaks).
//
// A backend's test calls Run with a function that opens a fresh, empty store
// (its own table, key prefix, database, ...) whose notion of network time is
// the given clock:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T, clock func() float64) storagefw.Backend {
//			b, err := mybackend.Open(ctx, storagefw.OpenConfig{Options: ..., Clock: clock})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return b
//		})
//	}
//
// Run closes every backend it opens (exactly once); the open function must not
// close it itself, but may register t.Cleanup hooks to remove the store
// afterwards. Expiry is driven only through the clock and through each op's
// Now field, which the suite sets from the clock: a backend must treat an
// entry whose expiry is <= op.Now as absent, whatever the wall clock says.
package storagetest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scriptd/scriptd/storagefw"
)

// WaitTimeout bounds how long the helpers wait for one op to complete. It is
// generous because tests run under the race detector on small machines.
const WaitTimeout = 30 * time.Second

// StartTime is the network time the suite's clocks start at.
const StartTime = 1_700_000_000.0

// Clock is a settable network-time clock, safe for concurrent use. Pass
// Clock.Now as an OpenConfig.Clock.
type Clock struct{ bits atomic.Uint64 }

// NewClock returns a clock reading start.
func NewClock(start float64) *Clock {
	c := &Clock{}
	c.Set(start)
	return c
}

// Now returns the current reading.
func (c *Clock) Now() float64 { return math.Float64frombits(c.bits.Load()) }

// Set sets the reading.
func (c *Clock) Set(t float64) { c.bits.Store(math.Float64bits(t)) }

// Advance moves the reading forward by d seconds and returns the new reading.
func (c *Clock) Advance(d float64) float64 {
	for {
		old := c.bits.Load()
		n := math.Float64frombits(old) + d
		if c.bits.CompareAndSwap(old, math.Float64bits(n)) {
			return n
		}
	}
}

// Ser returns v serialized the way the framework hands keys and values to
// backends: "JSONv1;" followed by v's JSON text.
func Ser(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("storagetest.Ser(%#v): %v", v, err))
	}
	return append([]byte("JSONv1;"), b...)
}

// PutOp builds a put of key -> value (both already serialized) issued at
// network time now. expireAt is absolute (0 = never).
func PutOp(key, value []byte, overwrite bool, expireAt, now float64) *Call {
	c := newCall(storagefw.PutRequest)
	c.Op.Key, c.Op.Value, c.Op.Overwrite, c.Op.ExpireAt, c.Op.Now = key, value, overwrite, expireAt, now
	return c
}

// GetOp builds a get of key issued at network time now.
func GetOp(key []byte, now float64) *Call {
	c := newCall(storagefw.GetRequest)
	c.Op.Key, c.Op.Now = key, now
	return c
}

// EraseOp builds an erase of key issued at network time now.
func EraseOp(key []byte, now float64) *Call {
	c := newCall(storagefw.EraseRequest)
	c.Op.Key, c.Op.Now = key, now
	return c
}

// Call is a Request together with the means to wait for its result. It counts
// completions so tests can check that a backend completes each op exactly
// once (storagefw.Request.Complete already drops a second call, so the count can
// only show that the first one happened).
type Call struct {
	Op    *storagefw.Request
	ch    chan storagefw.Reply
	calls atomic.Int32
}

func newCall(kind storagefw.RequestKind) *Call {
	c := &Call{ch: make(chan storagefw.Reply, 1)}
	c.Op = storagefw.NewRequest(kind, func(r storagefw.Reply) {
		c.calls.Add(1)
		c.ch <- r
	})
	return c
}

// Wait returns the op's result, failing the test if it does not complete
// within WaitTimeout. Wait may be called once per Call.
func (c *Call) Wait(t testing.TB) storagefw.Reply {
	t.Helper()
	timer := time.NewTimer(WaitTimeout)
	defer timer.Stop()
	select {
	case r := <-c.ch:
		return r
	case <-timer.C:
		t.Fatalf("%v of %q did not complete within %v", c.Op.Kind, c.Op.Key, WaitTimeout)
		return storagefw.Reply{}
	}
}

// Done reports whether the op has completed (without consuming the result).
func (c *Call) Done() bool { return c.calls.Load() > 0 }

// Submit submits the calls' ops to b in one Submit call and returns the calls.
func Submit(b storagefw.Backend, calls ...*Call) []*Call {
	ops := make([]*storagefw.Request, len(calls))
	for i, c := range calls {
		ops[i] = c.Op
	}
	b.Submit(ops...)
	return calls
}

// Do submits one call and waits for its result.
func Do(t testing.TB, b storagefw.Backend, c *Call) storagefw.Reply {
	t.Helper()
	Submit(b, c)
	return c.Wait(t)
}

// Expect fails the test unless r has code want and, when value is non-nil,
// r.Value equals value. A result other than SUCCESS (or KEY_EXISTS, which
// carries the current value for compare_and_swap) must carry no value.
func Expect(t testing.TB, what string, r storagefw.Reply, want storagefw.Code, value []byte) {
	t.Helper()
	if r.Code != want {
		t.Fatalf("%s: code %s (error %q), want %s", what, r.Code, r.Error, want)
	}
	if value != nil && string(r.Value) != string(value) {
		t.Fatalf("%s: value %q, want %q", what, r.Value, value)
	}
	if want != storagefw.Success && want != storagefw.KeyExists && r.Value != nil {
		t.Fatalf("%s: %s result carries a value %q", what, r.Code, r.Value)
	}
}

// env is what each case gets: a fresh backend and its clock.
type env struct {
	t     *testing.T
	b     storagefw.Backend
	clock *Clock

	closeOnce sync.Once
	closeErr  error
}

// close closes the backend once; later calls return the first result.
func (e *env) close() error {
	e.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
		defer cancel()
		e.closeErr = e.b.Close(ctx)
	})
	return e.closeErr
}

func (e *env) now() float64 { return e.clock.Now() }

func (e *env) put(key, value []byte, overwrite bool, expireAt float64) storagefw.Reply {
	e.t.Helper()
	return Do(e.t, e.b, PutOp(key, value, overwrite, expireAt, e.now()))
}

func (e *env) get(key []byte) storagefw.Reply {
	e.t.Helper()
	return Do(e.t, e.b, GetOp(key, e.now()))
}

func (e *env) erase(key []byte) storagefw.Reply {
	e.t.Helper()
	return Do(e.t, e.b, EraseOp(key, e.now()))
}

// testCase is one conformance case.
type testCase struct {
	Name string
	Run  func(e *env)
}

// Run runs the conformance suite against backends made by open. Each case
// gets a fresh backend; cases run sequentially (each uses concurrency inside).
func Run(t *testing.T, open func(t *testing.T, clock func() float64) storagefw.Backend) {
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			clock := NewClock(StartTime)
			b := open(t, clock.Now)
			if b == nil {
				t.Fatal("open returned a nil backend")
			}
			e := &env{t: t, b: b, clock: clock}
			defer func() {
				if err := e.close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()
			c.Run(e)
		})
	}
}

var cases = []testCase{
	{"PutGet", casePutGet},
	{"GetMissing", caseGetMissing},
	{"Erase", caseErase},
	{"OverwriteTrue", caseOverwriteTrue},
	{"OverwriteFalse", caseOverwriteFalse},
	{"KeysAreExact", caseKeysAreExact},
	{"ValuesAreBytes", caseValuesAreBytes},
	{"Expiry", caseExpiry},
	{"OverwriteResetsExpiry", caseOverwriteResetsExpiry},
	{"OverwriteFalseOverExpired", caseOverwriteFalseOverExpired},
	{"EraseExpired", caseEraseExpired},
	{"Expirer", caseExpirer},
	{"ReadYourWrites", caseReadYourWrites},
	{"ReadYourWritesInterleaved", caseReadYourWritesInterleaved},
	{"GetBeforePutSeesOld", caseGetBeforePut},
	{"OverwriteFalseRace", caseOverwriteFalseRace},
	{"ConcurrentSubmitters", caseConcurrentSubmitters},
	{"CloseDrainsThenNotConnected", caseClose},
}

func casePutGet(e *env) {
	k, v := Ser("key"), Ser("value")
	Expect(e.t, "put", e.put(k, v, true, 0), storagefw.Success, nil)
	Expect(e.t, "get", e.get(k), storagefw.Success, v)
	// A second get returns the same thing: reads do not consume.
	Expect(e.t, "get again", e.get(k), storagefw.Success, v)
}

func caseGetMissing(e *env) {
	Expect(e.t, "get of a never-written key", e.get(Ser("nope")), storagefw.KeyNotFound, nil)
}

func caseErase(e *env) {
	k, v := Ser("key"), Ser(42)
	Expect(e.t, "erase of a missing key", e.erase(k), storagefw.KeyNotFound, nil)
	Expect(e.t, "put", e.put(k, v, true, 0), storagefw.Success, nil)
	Expect(e.t, "erase", e.erase(k), storagefw.Success, nil)
	Expect(e.t, "get after erase", e.get(k), storagefw.KeyNotFound, nil)
	Expect(e.t, "second erase", e.erase(k), storagefw.KeyNotFound, nil)
	// The key is usable again afterwards, even without overwrite.
	Expect(e.t, "put after erase", e.put(k, Ser(43), false, 0), storagefw.Success, nil)
	Expect(e.t, "get after re-put", e.get(k), storagefw.Success, Ser(43))
}

func caseOverwriteTrue(e *env) {
	k := Ser("k")
	Expect(e.t, "put v1", e.put(k, Ser("v1"), true, 0), storagefw.Success, nil)
	Expect(e.t, "put v2", e.put(k, Ser("v2"), true, 0), storagefw.Success, nil)
	Expect(e.t, "get", e.get(k), storagefw.Success, Ser("v2"))
}

func caseOverwriteFalse(e *env) {
	k := Ser("k")
	Expect(e.t, "put overwrite:false on a missing key", e.put(k, Ser("v1"), false, 0), storagefw.Success, nil)
	Expect(e.t, "put overwrite:false on a live key", e.put(k, Ser("v2"), false, 0), storagefw.KeyExists, nil)
	Expect(e.t, "get keeps the first value", e.get(k), storagefw.Success, Ser("v1"))
	// A live key with an expiry in the future also blocks.
	k2 := Ser("k2")
	Expect(e.t, "put with expiry", e.put(k2, Ser("a"), true, e.now()+100), storagefw.Success, nil)
	Expect(e.t, "put overwrite:false on a live expiring key", e.put(k2, Ser("b"), false, 0), storagefw.KeyExists, nil)
	Expect(e.t, "get k2", e.get(k2), storagefw.Success, Ser("a"))
}

func caseKeysAreExact(e *env) {
	// Keys differing only by prefix, case, type or unicode are distinct.
	keys := [][]byte{Ser("a"), Ser("ab"), Ser("A"), Ser(1), Ser("1"), Ser("ü"), Ser("u"), Ser([]any{"a", 1}), Ser(map[string]any{"x": 1})}
	for i, k := range keys {
		Expect(e.t, fmt.Sprintf("put %q", k), e.put(k, Ser(i), true, 0), storagefw.Success, nil)
	}
	for i, k := range keys {
		Expect(e.t, fmt.Sprintf("get %q", k), e.get(k), storagefw.Success, Ser(i))
	}
}

func caseValuesAreBytes(e *env) {
	// Values come back byte for byte: unicode, escapes, a large value.
	big := make([]byte, 0, 300_000)
	for len(big) < 250_000 {
		big = append(big, "abcdefghij0123456789\u00e9\u4e2d"...)
	}
	vals := [][]byte{
		Ser(""),
		Ser("tab\there \"quoted\" back\\slash \u2028 \U0001F600"),
		Ser(map[string]any{"n": 1.5, "b": true, "z": nil, "l": []any{1, "2"}}),
		Ser(string(big)),
		[]byte("JSONv1;"), // not valid JSON after the prefix: backends do not care
	}
	for i, v := range vals {
		k := Ser(fmt.Sprintf("k%d", i))
		Expect(e.t, fmt.Sprintf("put value %d", i), e.put(k, v, true, 0), storagefw.Success, nil)
		Expect(e.t, fmt.Sprintf("get value %d", i), e.get(k), storagefw.Success, v)
	}
}

func caseExpiry(e *env) {
	t0 := e.now()
	k := Ser("exp")
	Expect(e.t, "put expiring at t0+10", e.put(k, Ser("v"), true, t0+10), storagefw.Success, nil)
	Expect(e.t, "get at t0", e.get(k), storagefw.Success, Ser("v"))
	e.clock.Set(t0 + 9.5)
	Expect(e.t, "get at t0+9.5", e.get(k), storagefw.Success, Ser("v"))
	e.clock.Set(t0 + 10)
	Expect(e.t, "get at exactly the expiry", e.get(k), storagefw.KeyNotFound, nil)
	e.clock.Set(t0 + 1000)
	Expect(e.t, "get long after", e.get(k), storagefw.KeyNotFound, nil)
	// An entry without expiry never expires.
	k2 := Ser("forever")
	Expect(e.t, "put without expiry", e.put(k2, Ser("v"), true, 0), storagefw.Success, nil)
	e.clock.Set(t0 + 1e7)
	Expect(e.t, "get of a non-expiring key much later", e.get(k2), storagefw.Success, Ser("v"))
	// Expiry is judged by the op's Now, not by when the backend runs it.
	k3 := Ser("by-op-now")
	now := e.now()
	Expect(e.t, "put k3", Do(e.t, e.b, PutOp(k3, Ser(3), true, now+5, now)), storagefw.Success, nil)
	Expect(e.t, "get k3 issued before expiry", Do(e.t, e.b, GetOp(k3, now+4)), storagefw.Success, Ser(3))
	Expect(e.t, "get k3 issued after expiry", Do(e.t, e.b, GetOp(k3, now+5)), storagefw.KeyNotFound, nil)
}

func caseOverwriteResetsExpiry(e *env) {
	t0 := e.now()
	k := Ser("k")
	Expect(e.t, "put expiring", e.put(k, Ser("v1"), true, t0+10), storagefw.Success, nil)
	Expect(e.t, "overwrite without expiry", e.put(k, Ser("v2"), true, 0), storagefw.Success, nil)
	e.clock.Set(t0 + 20)
	Expect(e.t, "get after the old expiry", e.get(k), storagefw.Success, Ser("v2"))
	Expect(e.t, "overwrite with a new expiry", e.put(k, Ser("v3"), true, t0+30), storagefw.Success, nil)
	e.clock.Set(t0 + 29)
	Expect(e.t, "get before the new expiry", e.get(k), storagefw.Success, Ser("v3"))
	e.clock.Set(t0 + 30)
	Expect(e.t, "get at the new expiry", e.get(k), storagefw.KeyNotFound, nil)
	// Overwriting an expired entry with a later expiry revives the key.
	Expect(e.t, "overwrite the expired entry", e.put(k, Ser("v4"), true, t0+40), storagefw.Success, nil)
	Expect(e.t, "get revived", e.get(k), storagefw.Success, Ser("v4"))
}

func caseOverwriteFalseOverExpired(e *env) {
	t0 := e.now()
	k := Ser("k")
	Expect(e.t, "put expiring", e.put(k, Ser("old"), true, t0+10), storagefw.Success, nil)
	e.clock.Set(t0 + 10)
	Expect(e.t, "put overwrite:false over the expired entry", e.put(k, Ser("new"), false, t0+100), storagefw.Success, nil)
	Expect(e.t, "get the new value", e.get(k), storagefw.Success, Ser("new"))
	Expect(e.t, "the new entry is live, so overwrite:false fails", e.put(k, Ser("newer"), false, 0), storagefw.KeyExists, nil)
	e.clock.Set(t0 + 99)
	Expect(e.t, "the new entry keeps its own expiry", e.get(k), storagefw.Success, Ser("new"))
	e.clock.Set(t0 + 100)
	Expect(e.t, "and expires at it", e.get(k), storagefw.KeyNotFound, nil)
}

func caseEraseExpired(e *env) {
	t0 := e.now()
	k := Ser("k")
	Expect(e.t, "put expiring", e.put(k, Ser("v"), true, t0+10), storagefw.Success, nil)
	e.clock.Set(t0 + 11)
	Expect(e.t, "erase of an expired entry", e.erase(k), storagefw.KeyNotFound, nil)
	Expect(e.t, "get", e.get(k), storagefw.KeyNotFound, nil)
	// Going back in network time must not resurrect it: it was erased.
	e.clock.Set(t0)
	Expect(e.t, "get with an earlier clock", e.get(k), storagefw.KeyNotFound, nil)
}

func caseExpirer(e *env) {
	ex, ok := e.b.(storagefw.Expirer)
	if !ok {
		e.t.Skip("backend does not implement storagefw.Expirer")
	}
	t0 := e.now()
	for i := range 3 {
		Expect(e.t, "put expiring", e.put(Ser(fmt.Sprintf("exp%d", i)), Ser(i), true, t0+10+float64(i)), storagefw.Success, nil)
	}
	Expect(e.t, "put late", e.put(Ser("late"), Ser("l"), true, t0+1000), storagefw.Success, nil)
	Expect(e.t, "put forever", e.put(Ser("forever"), Ser("f"), true, 0), storagefw.Success, nil)

	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	n, err := ex.Expire(ctx, t0+5)
	if err != nil || n != 0 {
		e.t.Fatalf("Expire(t0+5) = %d, %v; want 0, nil", n, err)
	}
	n, err = ex.Expire(ctx, t0+11)
	if err != nil || n != 2 {
		e.t.Fatalf("Expire(t0+11) = %d, %v; want 2, nil", n, err)
	}
	// Swept entries are gone even for an op issued at an earlier time.
	Expect(e.t, "get swept exp0 at t0", Do(e.t, e.b, GetOp(Ser("exp0"), t0)), storagefw.KeyNotFound, nil)
	Expect(e.t, "get unswept exp2 at t0", Do(e.t, e.b, GetOp(Ser("exp2"), t0)), storagefw.Success, Ser(2))
	n, err = ex.Expire(ctx, t0+1e6)
	if err != nil || n != 2 {
		e.t.Fatalf("Expire(t0+1e6) = %d, %v; want 2, nil", n, err)
	}
	Expect(e.t, "get forever", Do(e.t, e.b, GetOp(Ser("forever"), t0+1e6)), storagefw.Success, Ser("f"))
	Expect(e.t, "get late", Do(e.t, e.b, GetOp(Ser("late"), t0)), storagefw.KeyNotFound, nil)
}

func caseReadYourWrites(e *env) {
	now := e.now()
	k := Ser("ryw")
	// put then get, without waiting in between, in one Submit call...
	calls := Submit(e.b, PutOp(k, Ser("v1"), true, 0, now), GetOp(k, now))
	Expect(e.t, "put", calls[0].Wait(e.t), storagefw.Success, nil)
	Expect(e.t, "get right after put (same Submit)", calls[1].Wait(e.t), storagefw.Success, Ser("v1"))
	// ...and in separate Submit calls.
	p := Submit(e.b, PutOp(k, Ser("v2"), true, 0, now))[0]
	g := Submit(e.b, GetOp(k, now))[0]
	er := Submit(e.b, EraseOp(k, now))[0]
	g2 := Submit(e.b, GetOp(k, now))[0]
	p2 := Submit(e.b, PutOp(k, Ser("v3"), false, 0, now))[0]
	g3 := Submit(e.b, GetOp(k, now))[0]
	p3 := Submit(e.b, PutOp(k, Ser("v4"), false, 0, now))[0]
	g4 := Submit(e.b, GetOp(k, now))[0]
	Expect(e.t, "put v2", p.Wait(e.t), storagefw.Success, nil)
	Expect(e.t, "get after put v2", g.Wait(e.t), storagefw.Success, Ser("v2"))
	Expect(e.t, "erase", er.Wait(e.t), storagefw.Success, nil)
	Expect(e.t, "get after erase", g2.Wait(e.t), storagefw.KeyNotFound, nil)
	Expect(e.t, "put overwrite:false after erase", p2.Wait(e.t), storagefw.Success, nil)
	Expect(e.t, "get after it", g3.Wait(e.t), storagefw.Success, Ser("v3"))
	Expect(e.t, "second put overwrite:false", p3.Wait(e.t), storagefw.KeyExists, nil)
	Expect(e.t, "get keeps v3", g4.Wait(e.t), storagefw.Success, Ser("v3"))

	// A long chain of overwrites of one key, each followed by a get.
	const n = 300
	var chain []*Call
	for i := range n {
		chain = append(chain, Submit(e.b, PutOp(k, Ser(i), true, 0, now), GetOp(k, now))...)
	}
	for i := range n {
		Expect(e.t, fmt.Sprintf("chain put %d", i), chain[2*i].Wait(e.t), storagefw.Success, nil)
		Expect(e.t, fmt.Sprintf("chain get %d", i), chain[2*i+1].Wait(e.t), storagefw.Success, Ser(i))
	}
}

func caseReadYourWritesInterleaved(e *env) {
	// Many keys, each written, read, erased and read again, all in flight at
	// once: per-key order must hold whatever the backend batches together.
	now := e.now()
	const n = 500
	var calls []*Call
	for i := range n {
		k := Ser(fmt.Sprintf("k%d", i))
		calls = append(calls, Submit(e.b, PutOp(k, Ser(i), true, 0, now), GetOp(k, now))...)
	}
	for i := range n {
		k := Ser(fmt.Sprintf("k%d", i))
		if i%2 == 0 {
			calls = append(calls, Submit(e.b, EraseOp(k, now), GetOp(k, now))...)
		} else {
			calls = append(calls, Submit(e.b, GetOp(k, now), EraseOp(Ser(fmt.Sprintf("missing%d", i)), now))...)
		}
	}
	for i := range n {
		Expect(e.t, fmt.Sprintf("put k%d", i), calls[2*i].Wait(e.t), storagefw.Success, nil)
		Expect(e.t, fmt.Sprintf("get k%d", i), calls[2*i+1].Wait(e.t), storagefw.Success, Ser(i))
	}
	for i := range n {
		a, b := calls[2*n+2*i].Wait(e.t), calls[2*n+2*i+1].Wait(e.t)
		if i%2 == 0 {
			Expect(e.t, fmt.Sprintf("erase k%d", i), a, storagefw.Success, nil)
			Expect(e.t, fmt.Sprintf("get erased k%d", i), b, storagefw.KeyNotFound, nil)
		} else {
			Expect(e.t, fmt.Sprintf("second get k%d", i), a, storagefw.Success, Ser(i))
			Expect(e.t, fmt.Sprintf("erase missing%d", i), b, storagefw.KeyNotFound, nil)
		}
	}
}

func caseGetBeforePut(e *env) {
	// A get submitted before a put must not see the put, even though both are
	// in flight together.
	now := e.now()
	const n = 200
	for i := range n {
		k := Ser(fmt.Sprintf("k%d", i))
		Expect(e.t, "setup put", e.put(k, Ser("old"), true, 0), storagefw.Success, nil)
	}
	// A backlog of gets first, so a backend that reads in parallel with
	// writing has every chance to let the puts overtake the gets below.
	var backlog []*Call
	for i := range 5000 {
		backlog = append(backlog, GetOp(Ser(fmt.Sprintf("filler%d", i%7)), now))
	}
	Submit(e.b, backlog...)
	var calls []*Call
	for i := range n {
		k := Ser(fmt.Sprintf("k%d", i))
		calls = append(calls, Submit(e.b, GetOp(k, now))...)
		calls = append(calls, Submit(e.b, PutOp(k, Ser("new"), true, 0, now))...)
		calls = append(calls, Submit(e.b, GetOp(k, now))...)
	}
	for _, c := range backlog {
		Expect(e.t, "backlog get", c.Wait(e.t), storagefw.KeyNotFound, nil)
	}
	for i := range n {
		Expect(e.t, fmt.Sprintf("get before put k%d", i), calls[3*i].Wait(e.t), storagefw.Success, Ser("old"))
		Expect(e.t, fmt.Sprintf("put k%d", i), calls[3*i+1].Wait(e.t), storagefw.Success, nil)
		Expect(e.t, fmt.Sprintf("get after put k%d", i), calls[3*i+2].Wait(e.t), storagefw.Success, Ser("new"))
	}
}

func caseOverwriteFalseRace(e *env) {
	// Hundreds of overwrite:false puts of one key from several goroutines:
	// exactly one wins.
	const goroutines, each = 8, 50
	now := e.now()
	k := Ser("contended")
	results := make(chan storagefw.Reply, goroutines*each)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			var calls []*Call
			for i := range each {
				calls = append(calls, Submit(e.b, PutOp(k, Ser(fmt.Sprintf("g%d-%d", g, i)), false, 0, now))...)
			}
			for _, c := range calls {
				results <- c.Wait(e.t)
			}
		})
	}
	wg.Wait()
	close(results)
	wins := 0
	for r := range results {
		switch r.Code {
		case storagefw.Success:
			wins++
		case storagefw.KeyExists:
		default:
			e.t.Fatalf("racing put: code %s (%s)", r.Code, r.Error)
		}
	}
	if wins != 1 {
		e.t.Fatalf("%d overwrite:false puts succeeded, want exactly 1", wins)
	}
	if r := e.get(k); r.Code != storagefw.Success {
		e.t.Fatalf("get after the race: %s", r.Code)
	}
}

func caseConcurrentSubmitters(e *env) {
	// Several goroutines, each with its own keys, each checking its own
	// read-your-writes while all of them share the backend.
	const goroutines, each = 6, 150
	now := e.now()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			var calls []*Call
			for i := range each {
				k := Ser(fmt.Sprintf("g%d-k%d", g, i%40))
				calls = append(calls, Submit(e.b, PutOp(k, Ser(i), true, 0, now), GetOp(k, now))...)
			}
			for i := range each {
				if r := calls[2*i].Wait(e.t); r.Code != storagefw.Success {
					e.t.Errorf("g%d put %d: %s %s", g, i, r.Code, r.Error)
				}
				if r := calls[2*i+1].Wait(e.t); r.Code != storagefw.Success || string(r.Value) != string(Ser(i)) {
					e.t.Errorf("g%d get %d: %s %q, want %q", g, i, r.Code, r.Value, Ser(i))
				}
			}
		})
	}
	wg.Wait()
	for g := range goroutines {
		for j := range 40 {
			last := j + 40*((each-1-j)/40) // the last i with i%40 == j
			Expect(e.t, "final value", e.get(Ser(fmt.Sprintf("g%d-k%d", g, j))), storagefw.Success, Ser(last))
		}
	}
}

func caseClose(e *env) {
	now := e.now()
	// Requests in flight at Close are completed (drained) before Close returns.
	var calls []*Call
	for i := range 500 {
		k := Ser(fmt.Sprintf("k%d", i))
		calls = append(calls, Submit(e.b, PutOp(k, Ser(i), true, 0, now), GetOp(k, now))...)
	}
	if err := e.close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	for i, c := range calls {
		if !c.Done() {
			e.t.Fatalf("op %d (%v) not completed when Close returned", i, c.Op.Kind)
		}
		r := c.Wait(e.t)
		if r.Code != storagefw.Success && r.Code != storagefw.NotConnected {
			e.t.Fatalf("op %d (%v) in flight at Close: code %s (%s)", i, c.Op.Kind, r.Code, r.Error)
		}
	}
	// After Close every op gives NOT_CONNECTED.
	k := Ser("k0")
	Expect(e.t, "put after close", Do(e.t, e.b, PutOp(k, Ser(1), true, 0, now)), storagefw.NotConnected, nil)
	Expect(e.t, "get after close", Do(e.t, e.b, GetOp(k, now)), storagefw.NotConnected, nil)
	Expect(e.t, "erase after close", Do(e.t, e.b, EraseOp(k, now)), storagefw.NotConnected, nil)
	batch := Submit(e.b, GetOp(k, now), PutOp(k, Ser(2), false, 0, now))
	for _, c := range batch {
		Expect(e.t, "batch after close", c.Wait(e.t), storagefw.NotConnected, nil)
	}
	if ex, ok := e.b.(storagefw.Expirer); ok {
		ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
		defer cancel()
		if _, err := ex.Expire(ctx, now); err == nil {
			e.t.Fatal("Expire after Close succeeded")
		}
	}
}
