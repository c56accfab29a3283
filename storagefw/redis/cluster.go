package redis

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/rueidis"

	"github.com/scriptd/scriptd/storagefw"
)

// Redis Cluster.
//
// Entries keep Zeek's keys, "<key_prefix>:<serialized key>", so they spread
// over the cluster's 16384 hash slots (and so over its masters). A command
// or script may only touch keys of one slot, so replay mode's bookkeeping
// cannot live in one sorted set "<key_prefix>_expire" as it does on a single
// server: in a cluster each slot has its own set,
//
//	<key_prefix>_expire{TTTT}
//
// where TTTT is a four-letter hash tag (letters '@' to 'O') chosen so that
// the set lives in the slot it keeps the expiries of (slotTag). A get, put
// or erase is then one script over the entry and its slot's set, atomic as
// on a single server, and compare_and_swap and increment likewise. The
// alternative, a hash tag on the key prefix, would put every entry in one
// slot (one master) and change Zeek's key layout; a user who wants that can
// still choose a key_prefix such as "{app}".
//
// The sweep visits all 16384 slot sets (one script call per slot, sent as
// one pipeline per master; a missing set costs a lookup), and a scan lists
// each master in turn, its cursor naming the master it is on.

// numSlots is the number of hash slots of a Redis Cluster.
const numSlots = 16384

// crc16 is Redis Cluster's key hash (CRC-16/XMODEM).
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// keySlot is the hash slot of key: the CRC of its hash tag (the text
// between the first '{' and the first '}' after it, if not empty), else of
// the whole key.
func keySlot(key string) uint16 {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return crc16(key) % numSlots
}

// The slot of a four-letter tag 0x40|v>>12, 0x40|v>>8&15, 0x40|v>>4&15,
// 0x40|v&15 is affine in the 16 bits of v (CRC is linear over GF(2)):
// slot(v) = A·v ^ tagSlot0. tagBasis[j] is a v with A·v = 1<<j, so
// slotTag(s) = the XOR of tagBasis[j] over the bits j of s ^ tagSlot0 is a
// tag whose slot is s. clusterScanScript computes the same tags in Lua;
// TestSlotTags checks every slot.
const tagSlot0 = 13881

var tagBasis = [14]uint16{6906, 1773, 10107, 4364, 10897, 14784, 8035, 10111, 4356, 8712, 7146, 1229, 9019, 6540}

// slotTag returns the hash tag of slot s's expiry set.
func slotTag(s uint16) string {
	x := s ^ tagSlot0
	var v uint16
	for j := range tagBasis {
		if x>>j&1 == 1 {
			v ^= tagBasis[j]
		}
	}
	return string([]byte{0x40 | byte(v>>12), 0x40 | byte(v>>8&15), 0x40 | byte(v>>4&15), 0x40 | byte(v&15)})
}

// slotSet is the name of slot s's expiry set.
func slotSet(keyPrefix string, s uint16) string {
	return keyPrefix + "_expire{" + slotTag(s) + "}"
}

// checkClusterPrefix refuses key prefixes with which "<prefix>_expire{TTTT}"
// would not hash to its entries' slot: a '{' not closed by a '}' within the
// prefix, or an empty tag "{}". (A prefix holding a whole tag, "{app}", is
// fine: entries and sets then all hash by it.)
func checkClusterPrefix(prefix string) error {
	i := strings.IndexByte(prefix, '{')
	if i < 0 {
		return nil
	}
	if j := strings.IndexByte(prefix[i+1:], '}'); j > 0 {
		return nil
	}
	return storagefw.Errorf(storagefw.InitializationFailed,
		"redis option \"key_prefix\": %q opens a hash tag it does not close (or leaves it empty); in a cluster the key prefix may hold a whole tag such as \"{app}\", or none", prefix)
}

// clusterScanScript lists one page of one master's entries, as scanScript
// does on a single server, but declaring no keys (the keys SCAN finds are
// the node's own, of many slots) and, in replay mode, finding each entry's
// slot set by its slot (CLUSTER KEYSLOT) and slotTag's formula. ARGV[1]
// SCAN cursor, ARGV[2] MATCH pattern, ARGV[3] COUNT, ARGV[4] "1" in replay
// mode, ARGV[5] now, ARGV[6] the entry key prefix ("<key_prefix>:"),
// ARGV[7] the key prefix. Returns {next cursor, key1, value1, ...}.
const clusterScanScript = `
local basis = {6906, 1773, 10107, 4364, 10897, 14784, 8035, 10111, 4356, 8712, 7146, 1229, 9019, 6540}
local function slotset(k)
  local x = bit.bxor(redis.call('CLUSTER', 'KEYSLOT', k), 13881)
  local v = 0
  for j = 0, 13 do
    if bit.band(x, bit.lshift(1, j)) ~= 0 then v = bit.bxor(v, basis[j + 1]) end
  end
  return ARGV[7] .. '_expire{' .. string.char(64 + bit.rshift(v, 12), 64 + bit.band(bit.rshift(v, 8), 15),
    64 + bit.band(bit.rshift(v, 4), 15), 64 + bit.band(v, 15)) .. '}'
end
local cursor = ARGV[1]
local count = tonumber(ARGV[3])
local plen = #ARGV[6]
local replay = ARGV[4] == '1'
local now = tonumber(ARGV[5])
local out = {}
local found = 0
for round = 1, 16 do
  local r = redis.call('SCAN', cursor, 'MATCH', ARGV[2], 'COUNT', count, 'TYPE', 'string')
  cursor = r[1]
  for _, k in ipairs(r[2]) do
    local m = string.sub(k, plen + 1)
    local live = true
    if replay then
      local s = redis.call('ZSCORE', slotset(k), m)
      if s and tonumber(s) <= now then live = false end
    end
    if live then
      local v = redis.call('GET', k)
      if v then
        out[#out + 1] = m
        out[#out + 1] = v
        found = found + 1
      end
    end
  end
  if cursor == '0' or found >= count then break end
end
table.insert(out, 1, cursor)
return out
`

// masters returns the addresses ("host:port") of the cluster's masters,
// sorted, from CLUSTER SLOTS.
func (b *Backend) masters(ctx context.Context) ([]string, error) {
	slots, err := b.client.Do(ctx, clusterSlotsCmd(b.client.B())).ToArray()
	if err != nil {
		return nil, fmt.Errorf("CLUSTER SLOTS: %w", err)
	}
	var out []string
	for _, r := range slots {
		el, err := r.ToArray()
		if err != nil || len(el) < 3 {
			return nil, fmt.Errorf("CLUSTER SLOTS: unexpected reply")
		}
		node, err := el[2].ToArray()
		if err != nil || len(node) < 2 {
			return nil, fmt.Errorf("CLUSTER SLOTS: unexpected node")
		}
		host, _ := node[0].ToString()
		port, _ := node[1].AsInt64()
		addr := net.JoinHostPort(host, strconv.FormatInt(port, 10))
		if !slices.Contains(out, addr) {
			out = append(out, addr)
		}
	}
	slices.Sort(out)
	return out, nil
}

// node returns the client of one node.
func (b *Backend) node(addr string) (rueidis.Client, error) {
	if c, ok := b.client.Nodes()[addr]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("no connection to cluster node %s", addr)
}

// clusterScan runs one page of a scan in a cluster: the cursor is
// "<master>|<that master's SCAN cursor>"; a master's scan done, the next
// master (in address order) starts from 0.
// The error is the transport error that made it fail, if any.
func (b *Backend) clusterScan(ctx context.Context, r *req) (storagefw.Reply, error) {
	op := r.op
	failed := func(format string, args ...any) (storagefw.Reply, error) {
		return storagefw.Reply{Code: storagefw.OperationFailed, Error: "scan operation failed: " + fmt.Sprintf(format, args...)}, nil
	}
	masters, err := b.masters(ctx)
	if err != nil {
		return replyForError(r, err), err
	}
	if len(masters) == 0 {
		return failed("the cluster has no masters")
	}
	i, cursor := 0, "0"
	if len(op.Cursor) > 0 {
		addr, c, ok := strings.Cut(string(op.Cursor), "|")
		if !ok {
			return failed("malformed cursor %q", op.Cursor)
		}
		// A master that left the cluster since: continue with the next.
		i, ok = slices.BinarySearch(masters, addr)
		if ok {
			cursor = c
		}
	}
	if i == len(masters) {
		return storagefw.Reply{Code: storagefw.Success, Entries: []storagefw.Reply{}}, nil
	}
	nc, err := b.node(masters[i])
	if err != nil {
		return failed("%v", err)
	}
	replay := "0"
	if r.replay {
		replay = "1"
	}
	cmd := evalshaCmd(keyed{Builder: nc.B(), cluster: true}, b.scripts.clusterScan.sha, nil, cursor, bs(scanPattern(b.s.keyPrefix, op.Prefix)),
		integer(int64(max(op.Limit, 1))), replay, num(r.now), entryKey(b.s.keyPrefix, nil), b.s.keyPrefix)
	res := nc.Do(ctx, cmd)
	if err := res.Error(); err != nil {
		b.noteScriptError(err)
		return replyForError(r, err), err
	}
	out, ok := scanResult(res)
	if !ok {
		return failed("unexpected reply")
	}
	// Continue on this master, or with the next one, or end.
	switch {
	case out.Cursor != nil:
		out.Cursor = []byte(masters[i] + "|" + string(out.Cursor))
	case i+1 < len(masters):
		out.Cursor = []byte(masters[i+1] + "|0")
	}
	return out, nil
}

// clusterSweep runs the expire pass over every slot's set: one script call
// per slot, in one pipeline (rueidis sends each master its share), again
// for the slots that had more than sweepBatch expired entries.
func (b *Backend) clusterSweep(ctx context.Context, now float64) (deleted int, err error) {
	slotsLeft := make([]uint16, numSlots)
	for i := range slotsLeft {
		slotsLeft[i] = uint16(i)
	}
	prefix := entryKey(b.s.keyPrefix, nil)
	for len(slotsLeft) > 0 {
		cmds := make(rueidis.Commands, len(slotsLeft))
		for i, s := range slotsLeft {
			cmds[i] = evalshaCmd(b.builder(), b.scripts.sweep.sha, []string{slotSet(b.s.keyPrefix, s)},
				num(now), integer(sweepBatch), prefix)
		}
		res := b.client.DoMulti(ctx, cmds...)
		var more []uint16
		for i, r := range res {
			scanned, del, err := sweepResult(r)
			if err != nil {
				b.noteScriptError(err)
				return deleted, err
			}
			deleted += del
			if scanned >= sweepBatch {
				more = append(more, slotsLeft[i])
			}
		}
		slotsLeft = more
	}
	return deleted, nil
}
