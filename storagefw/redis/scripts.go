package redis

import (
	"crypto/sha1"
	"encoding/hex"
)

// The Lua scripts of replay mode: an entry and its score in the expiry set
// read or written in one atomic step. KEYS[1] is the entry
// ("<key_prefix>:<serialized key>"), KEYS[2] the expiry set
// ("<key_prefix>_expire"; in a cluster the set of the entry's slot, see
// cluster.go), ARGV[1] the set member (the serialized key). An entry is
// expired when its score is <= the op's network time ("now"). Scores and
// times are passed in shortest round-trip decimal form; Redis returns
// scores with 17 significant digits, so comparisons are exact.

// getScript is a get: ARGV[2] now. Returns the value, or nil when the
// entry is absent or expired.
const getScript = `
local v = redis.call('GET', KEYS[1])
if not v then return false end
local s = redis.call('ZSCORE', KEYS[2], ARGV[1])
if s and tonumber(s) <= tonumber(ARGV[2]) then return false end
return v
`

// putScript is a put with overwrite: ARGV[2] value, ARGV[3] absolute
// expiry ("0" = never). Returns 1.
const putScript = `
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[3] ~= '0' then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
`

// eraseScript is an erase: ARGV[2] now. Returns 1 when a live entry was
// erased, 0 when there was none. Erasing an expired, unswept entry deletes
// it but returns 0: it was already absent.
const eraseScript = `
local s = redis.call('ZSCORE', KEYS[2], ARGV[1])
local n = redis.call('DEL', KEYS[1])
if s then redis.call('ZREM', KEYS[2], ARGV[1]) end
if n == 1 and s and tonumber(s) <= tonumber(ARGV[2]) then return 0 end
return n
`

// putNXScript is a put with overwrite:false: ARGV[2] value, ARGV[3]
// absolute expiry ("0" = never), ARGV[4] now. Returns 1 when stored, 0 for
// KEY_EXISTS. An expired entry does not block it (Zeek's SET NX would be
// blocked until a sweep), and the check and the write are one atomic step,
// so exactly one of many racing puts wins, across engines.
const putNXScript = `
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then
  if not score or tonumber(score) > tonumber(ARGV[4]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[3] ~= '0' then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
elseif score then
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
`

// sweepScript is Zeek's expire pass (ZRANGEBYSCORE -inf now, DEL each
// entry, remove them from the set) made atomic and bounded: KEYS[1] is the
// expiry set, ARGV[1] now, ARGV[2] the most members to handle, ARGV[3] the
// entry key prefix ("<key_prefix>:"). Returns {members handled, entries
// deleted}.
const sweepScript = `
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local deleted = 0
for _, m in ipairs(members) do
  deleted = deleted + redis.call('DEL', ARGV[3] .. m)
end
if #members > 0 then
  redis.call('ZREM', KEYS[1], unpack(members))
end
return {#members, deleted}
`

// script is a Lua script with its SHA1, for EVALSHA.
type script struct {
	body string
	sha  string
}

func newScript(body string) script {
	sum := sha1.Sum([]byte(body))
	return script{body: body, sha: hex.EncodeToString(sum[:])}
}

// scriptSet holds the scripts; one per Backend (no package state).
type scriptSet struct {
	get, put, putNX, erase, sweep, cas, incr, scan, clusterScan script
}

func newScriptSet() scriptSet {
	return scriptSet{get: newScript(getScript), put: newScript(putScript), putNX: newScript(putNXScript),
		erase: newScript(eraseScript), sweep: newScript(sweepScript),
		cas: newScript(casScript), incr: newScript(incrScript), scan: newScript(scanScript),
		clusterScan: newScript(clusterScanScript)}
}

// all lists the scripts a server must hold (SCRIPT LOAD at connect).
func (s *scriptSet) all(t topology) []script {
	all := []script{s.get, s.put, s.putNX, s.erase, s.sweep, s.cas, s.incr}
	if t == cluster {
		return append(all, s.clusterScan)
	}
	return append(all, s.scan)
}
