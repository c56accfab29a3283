package input

import (
	"hash/maphash"
	"math"
)

// arena hands out Records, Field slices and []any slices carved from larger
// chunks, so that parsing a record costs a handful of allocations instead of
// one per value. Carved slices have their capacity capped. A chunk is never
// written again once a part of it has been handed out, so what is handed out
// stays immutable; a chunk stays alive while any record carved from it does.
// An arena belongs to one parser and is not safe for concurrent use.
type arena struct {
	recs   []Record
	fields []Field // for nested objects, carved by fieldsCopy
	top    []Field // for top-level records, built in place
	anys   []any
}

const (
	// Chunk sizes keep each chunk within Go's small-object classes
	// (32 KiB), whose allocation is much cheaper than a large object's.
	arenaRecs   = 1024 // 24 KiB
	arenaFields = 1024 // 32 KiB
	arenaAnys   = 2048 // 32 KiB
	// Slices longer than this get an allocation of their own.
	arenaMaxCarve = 128
)

func (a *arena) record(fields []Field) *Record {
	if len(a.recs) == 0 {
		a.recs = make([]Record, arenaRecs)
	}
	r := &a.recs[0]
	a.recs = a.recs[1:]
	r.Fields = fields
	return r
}

// topStart returns an empty slice, with room for at least want fields, to
// append a top-level record's fields to in place; the caller passes the
// result to topCommit. If appending outgrows the room, append moves the
// fields to an allocation of their own, which is fine.
func (a *arena) topStart(want int) []Field {
	if len(a.top) < want {
		n := arenaFields
		if want > n {
			n = want
		}
		a.top = make([]Field, n)
	}
	return a.top[:0]
}

// topCommit takes the fields appended to the slice from topStart out of the
// arena and returns them with their capacity capped.
func (a *arena) topCommit(fs []Field) []Field {
	n := len(fs)
	if n == 0 {
		return nil
	}
	if cap(fs) == cap(a.top) && &fs[0] == &a.top[0] {
		a.top = a.top[n:]
	}
	return fs[:n:n]
}

// fieldsCopy returns a new slice holding a copy of src.
func (a *arena) fieldsCopy(src []Field) []Field {
	if len(src) == 0 {
		return nil
	}
	return carveCopy(&a.fields, arenaFields, src)
}

// anysCopy returns a new non-nil slice holding a copy of src.
func (a *arena) anysCopy(src []any) []any {
	if len(src) == 0 {
		return []any{}
	}
	return carveCopy(&a.anys, arenaAnys, src)
}

// carveCopy copies src into a slice carved from *pool (refilled with chunk
// elements when short), or into its own allocation when src is large. The
// result's capacity is capped so appending to it cannot touch the pool.
func carveCopy[T any](pool *[]T, chunk int, src []T) []T {
	n := len(src)
	var dst []T
	if n > arenaMaxCarve {
		dst = make([]T, n)
	} else {
		if len(*pool) < n {
			*pool = make([]T, chunk)
		}
		dst = (*pool)[:n:n]
		*pool = (*pool)[n:]
	}
	copy(dst, src)
	return dst
}

// valueCache is a small direct-mapped cache from the bytes of a string to
// the string, boxed. Logs repeat the same short strings (field names,
// protocols, addresses, enum names) over and over; a hit saves the
// allocation of the string and of its interface box. A miss just replaces
// the slot, so the cache's size is fixed whatever the input.
// Not safe for concurrent use.
type valueCache struct {
	seed  maphash.Seed
	slots []cacheSlot
	mask  uint64
}

type cacheSlot struct {
	hash uint64
	key  string
	val  any
}

// Strings longer than this are not cached.
const maxCachedLen = 48

func newValueCache(bits uint) valueCache {
	return valueCache{
		seed:  maphash.MakeSeed(),
		slots: make([]cacheSlot, 1<<bits),
		mask:  1<<bits - 1,
	}
}

// lookup returns the cached value for key b and true, or, on a miss, the
// slot to fill.
func (c *valueCache) lookup(b []byte) (*cacheSlot, bool) {
	h := maphash.Bytes(c.seed, b)
	s := &c.slots[h&c.mask]
	if s.hash == h && s.val != nil && s.key == string(b) {
		return s, true
	}
	s.hash = h
	return s, false
}

// str returns b as a boxed string, from the cache when it can.
func (c *valueCache) str(b []byte) any {
	v, _ := c.strHit(b)
	return v
}

// strHit is str, also reporting a cache hit.
func (c *valueCache) strHit(b []byte) (any, bool) {
	if len(b) == 0 {
		return "", true
	}
	if len(b) > maxCachedLen {
		return string(b), false
	}
	s, ok := c.lookup(b)
	if ok {
		return s.val, true
	}
	k := string(b)
	s.key, s.val = k, k
	return s.val, false
}

// name returns b as a string, from the cache when it can (for field names).
func (c *valueCache) name(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > maxCachedLen {
		return string(b)
	}
	s, ok := c.lookup(b)
	if ok {
		return s.key
	}
	k := string(b)
	s.key, s.val = k, k
	return k
}

// caches groups the caches one parser uses.
type caches struct {
	names valueCache
	strs  valueCache
}

func newCaches() *caches {
	return &caches{
		names: newValueCache(10),
		strs:  newValueCache(12),
	}
}

// hint remembers, for one field position of the top-level JSON object (or
// one column of a Zeek log), the last key and values seen there. Records of
// one log share their layout, so the key and often the value at a position
// repeat from one line to the next; comparing with the hint is cheaper than
// a cache lookup, and reusing the boxed value saves an allocation.
type hint struct {
	key   string
	plain bool   // key's text in the line had no escapes (it is key's bytes)
	skey  string // last string value and its boxed form
	sval  any
	nbits uint64 // last number (its bits) and its boxed form
	nval  any
	miss  uint8 // consecutive cache misses for string values here
	skip  uint8 // counts the values not looked up while miss is high
	elems *[elemHints]hint
}

// elemHints is the number of leading elements of an array (or Zeek
// container) value that get hints of their own.
const elemHints = 4

// elem returns the hint for element j of an array at h's position, or nil.
func (h *hint) elem(j int) *hint {
	if h == nil || j >= elemHints {
		return nil
	}
	if h.elems == nil {
		h.elems = new([elemHints]hint)
	}
	return &h.elems[j]
}

// Once the string values at a position have missed the cache this many
// times in a row (as unique values like timestamps and ids do), only one in
// skipPeriod of them is looked up; the others are allocated directly.
const (
	missLimit  = 16
	skipPeriod = 16
)

// hintedStr returns raw as a boxed string, reusing the hint's or the
// cache's value when it can. h may be nil.
func (c *caches) hintedStr(h *hint, raw []byte) any {
	if h == nil {
		return c.strs.str(raw)
	}
	if h.sval != nil && h.skey == string(raw) {
		return h.sval
	}
	if h.miss >= missLimit {
		h.skip++
		if h.skip%skipPeriod != 0 {
			return string(raw)
		}
	}
	v, hit := c.strs.strHit(raw)
	if hit {
		h.miss = 0
	} else if h.miss < missLimit {
		h.miss++
	}
	h.skey, h.sval = v.(string), v
	return v
}

// boxNum returns f boxed, reusing the hint's box when it holds the same
// number. h may be nil.
func boxNum(h *hint, f float64) any {
	if h == nil {
		return f
	}
	fb := math.Float64bits(f)
	if h.nval != nil && h.nbits == fb {
		return h.nval
	}
	var v any = f
	h.nbits, h.nval = fb, v
	return v
}
