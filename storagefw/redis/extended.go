package redis

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/scriptd/scriptd/storagefw"
)

// The calls beyond Zeek. Batches are their entries' own commands (SET, GET,
// DEL, or the replay-mode transactions), queued together so that one
// pipeline carries them; compare_and_swap, increment and scan are Lua
// scripts over Zeek's key layout, each one atomic step on the server.

// SupportsBatches: a batch's entries go out in one pipeline.
func (b *Backend) SupportsBatches() bool { return true }

// SupportsCompareAndSwap: casScript, atomic against every client.
func (b *Backend) SupportsCompareAndSwap() bool { return true }

// SupportsIncrement: incrScript.
func (b *Backend) SupportsIncrement() bool { return true }

// SupportsScan: SCAN MATCH in scanScript (a cluster: clusterScanScript,
// master by master).
func (b *Backend) SupportsScan() bool { return true }

// casScript is compare_and_swap. KEYS[1] entry, KEYS[2] expiry set;
// ARGV[1] member (serialized key), ARGV[2] flags (A: expect absent, E:
// erase, K: keep the expiry, R: replay mode), ARGV[3] expected bytes,
// ARGV[4] new value, ARGV[5] absolute expiry in seconds ("0": never),
// ARGV[6] now, ARGV[7] PXAT milliseconds ("0": none). Returns {1} swapped,
// {0, current} another value is stored, {2} nothing is stored. In live mode
// Redis expires entries itself (PXAT, KEEPTTL); in replay mode the entry's
// score in the expiry set decides, as for the other replay commands.
const casScript = `
local flags = ARGV[2]
local function has(c) return string.find(flags, c, 1, true) ~= nil end
local replay = has('R')
local cur = redis.call('GET', KEYS[1])
if cur and replay then
  local s = redis.call('ZSCORE', KEYS[2], ARGV[1])
  if s and tonumber(s) <= tonumber(ARGV[6]) then cur = false end
end
if has('A') then
  if cur then return {0, cur} end
else
  if not cur then return {2} end
  if cur ~= ARGV[3] then return {0, cur} end
end
if has('E') then
  redis.call('DEL', KEYS[1])
  if replay then redis.call('ZREM', KEYS[2], ARGV[1]) end
  return {1}
end
local keep = has('K')
if keep and cur then
  if replay then
    redis.call('SET', KEYS[1], ARGV[4])
  else
    redis.call('SET', KEYS[1], ARGV[4], 'KEEPTTL')
  end
elseif replay then
  redis.call('SET', KEYS[1], ARGV[4])
  if not keep and ARGV[5] ~= '0' then
    redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
  else
    redis.call('ZREM', KEYS[2], ARGV[1])
  end
elseif not keep and ARGV[7] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[4], 'PXAT', ARGV[7])
else
  redis.call('SET', KEYS[1], ARGV[4])
end
return {1}
`

// incrScript is increment, keeping Zeek's "JSONv1;" value format. KEYS and
// ARGV as casScript, except ARGV[3]: the delta, and ARGV[2]'s flags also
// name the number type (C count, I int, D double, N any) and F says the
// delta is a double. Returns {1, new value}, {3, why} for a value that is
// not a number of the type (VAL_TYPE_MISMATCH), {4, why} for an integer
// beyond 2^53 (Lua's numbers are doubles: OPERATION_FAILED). Integers are
// written in decimal, doubles as Zeek (rapidjson) writes them: the
// shortest digits that read back exactly, laid out by rapidjson's Prettify
// ("3.0", "0.001", "1e21", "1.5e-7").
const incrScript = `
local flags = ARGV[2]
local function has(c) return string.find(flags, c, 1, true) ~= nil end
local replay = has('R')
local cur = redis.call('GET', KEYS[1])
if cur and replay then
  local s = redis.call('ZSCORE', KEYS[2], ARGV[1])
  if s and tonumber(s) <= tonumber(ARGV[6]) then cur = false end
end
local limit = 9007199254740992
local old, oldInt = 0, true
if cur then
  if string.sub(cur, 1, 7) ~= 'JSONv1;' then return {5, 'stored data does not start with JSONv1;'} end
  local t = string.sub(cur, 8)
  if string.match(t, '^%-?%d+$') then
    old = tonumber(t)
    if math.abs(old) >= limit then return {4, 'the stored integer ' .. t .. ' is beyond 2^53'} end
  elseif string.match(t, '^%-?%d[%d%.eE%+%-]*$') and tonumber(t) then
    old, oldInt = tonumber(t), false
  else
    return {3, 'the stored value ' .. string.sub(t, 1, 40) .. ' is not a number'}
  end
end
local delta = tonumber(ARGV[3])
local deltaInt = not has('F')
local function fmtdouble(x)
  if x ~= x or x == math.huge or x == -math.huge then return nil end
  if x == 0 then
    if 1 / x < 0 then return '-0.0' end
    return '0.0'
  end
  local s
  for p = 1, 17 do
    s = string.format('%.' .. (p - 1) .. 'e', x)
    if tonumber(s) == x then break end
  end
  local sign = ''
  if string.sub(s, 1, 1) == '-' then sign = '-'; s = string.sub(s, 2) end
  local mant, e = string.match(s, '^([%d%.]+)e([-+]%d+)$')
  local digits = string.gsub(string.gsub(mant, '%.', ''), '0+$', '')
  local length = #digits
  local k = tonumber(e) - (length - 1)
  local kk = length + k
  if k >= 0 and kk <= 21 then
    return sign .. digits .. string.rep('0', k) .. '.0'
  elseif 0 < kk and kk <= 21 then
    return sign .. string.sub(digits, 1, kk) .. '.' .. string.sub(digits, kk + 1)
  elseif -6 < kk and kk <= 0 then
    return sign .. '0.' .. string.rep('0', -kk) .. digits
  elseif length == 1 then
    return sign .. digits .. 'e' .. string.format('%d', kk - 1)
  end
  return sign .. string.sub(digits, 1, 1) .. '.' .. string.sub(digits, 2) .. 'e' .. string.format('%d', kk - 1)
end
local text
if has('C') or has('I') or (has('N') and oldInt and deltaInt) then
  if not oldInt then
    if old ~= math.floor(old) or math.abs(old) >= limit then
      return {3, 'the stored value ' .. string.sub(cur, 8) .. ' is not an integer'}
    end
  end
  local sum = old + delta
  if math.abs(sum) >= limit then return {4, 'the sum is beyond 2^53'} end
  if has('C') and sum < 0 then return {3, 'a count cannot go below 0'} end
  if sum == 0 then text = '0' else text = string.format('%.0f', sum) end
else
  text = fmtdouble(old + delta)
  if not text then return {3, 'the sum is not a finite number'} end
end
local val = 'JSONv1;' .. text
local keep = has('K')
if keep and cur then
  if replay then
    redis.call('SET', KEYS[1], val)
  else
    redis.call('SET', KEYS[1], val, 'KEEPTTL')
  end
elseif replay then
  redis.call('SET', KEYS[1], val)
  if not keep and ARGV[5] ~= '0' then
    redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
  else
    redis.call('ZREM', KEYS[2], ARGV[1])
  end
elseif not keep and ARGV[7] ~= '0' then
  redis.call('SET', KEYS[1], val, 'PXAT', ARGV[7])
else
  redis.call('SET', KEYS[1], val)
end
return {1, val}
`

// scanScript lists one page: KEYS[1] expiry set; ARGV[1] SCAN cursor,
// ARGV[2] MATCH pattern, ARGV[3] COUNT (the page's limit), ARGV[4] "1" in
// replay mode, ARGV[5] now, ARGV[6] the entry key prefix ("<key_prefix>:").
// It runs SCAN until it has found about COUNT entries, the scan ends or 16
// rounds have run, and returns {next cursor, key1, value1, ...} with the
// serialized keys. Only string keys are listed (never the expiry set), and
// in replay mode no entry whose score is <= now.
const scanScript = `
local cursor = ARGV[1]
local count = tonumber(ARGV[3])
local plen = #ARGV[6]
local replay = ARGV[4] == '1'
local now = tonumber(ARGV[5])
local out = {}
local found = 0
for round = 1, 16 do
  local r = redis.call('SCAN', cursor, 'MATCH', ARGV[2], 'COUNT', count)
  cursor = r[1]
  for _, k in ipairs(r[2]) do
    if redis.call('TYPE', k)['ok'] == 'string' then
      local m = string.sub(k, plen + 1)
      local live = true
      if replay then
        local s = redis.call('ZSCORE', KEYS[1], m)
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
  end
  if cursor == '0' or found >= count then break end
end
table.insert(out, 1, cursor)
return out
`

// globEscape escapes the characters special in Redis glob patterns.
func globEscape(dst []byte, s []byte) []byte {
	for _, c := range s {
		switch c {
		case '*', '?', '[', ']', '\\':
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return dst
}

// scanPattern is SCAN's MATCH pattern for entries whose serialized key
// starts with prefix.
func scanPattern(keyPrefix string, prefix []byte) []byte {
	p := globEscape(nil, []byte(keyPrefix))
	p = append(p, ':')
	p = globEscape(p, prefix)
	return append(p, '*')
}

// casFlags builds the flags argument of casScript and incrScript.
func casFlags(r *req) string {
	op := r.op
	var f []byte
	if op.ExpectAbsent {
		f = append(f, 'A')
	}
	if op.Erase {
		f = append(f, 'E')
	}
	if op.KeepExpiry {
		f = append(f, 'K')
	}
	if r.replay {
		f = append(f, 'R')
	}
	if r.kind == cmdIncr {
		f = append(f, "NCIDN"[min(int(op.Num), 4)])
		if !op.DeltaIsInt {
			f = append(f, 'F')
		}
	}
	return string(f)
}

// extendedCommand builds the script call of a compare_and_swap, increment
// or scan (key: the op's entry key).
func (b *Backend) extendedCommand(r *req, key string) rueidis.Completed {
	op := r.op
	B := b.builder()
	switch r.kind {
	case cmdCAS, cmdIncr:
		sha := b.scripts.cas.sha
		third := bs(op.Expected)
		if r.kind == cmdIncr {
			sha = b.scripts.incr.sha
			if op.DeltaIsInt {
				third = integer(op.DeltaInt)
			} else {
				third = num(op.DeltaFloat)
			}
		}
		pxat := int64(0)
		if !r.replay {
			pxat = pxatMillis(r.expireAt)
		}
		return evalshaCmd(B, sha, []string{key, b.expireSetOf(key)},
			bs(op.Key), casFlags(r), third, bs(op.Value), num(r.expireAt), num(r.now), integer(pxat))
	}
	// cmdScan on a single server (a cluster's is clusterScan).
	cursor := "0"
	if len(op.Cursor) > 0 {
		cursor = string(op.Cursor)
	}
	replay := "0"
	if r.replay {
		replay = "1"
	}
	return evalshaCmd(B, b.scripts.scan.sha, []string{b.expireSet}, cursor,
		bs(scanPattern(b.s.keyPrefix, op.Prefix)), integer(int64(max(op.Limit, 1))), replay, num(r.now),
		entryKey(b.s.keyPrefix, nil))
}

// extendedResult interprets a script's reply; ok is false for a reply of
// the wrong shape.
func extendedResult(r *req, res rueidis.RedisResult) (storagefw.Reply, bool) {
	if r.kind == cmdScan {
		return scanResult(res)
	}
	el, err := res.ToArray()
	if err != nil || len(el) == 0 {
		return storagefw.Reply{}, false
	}
	code, err := el[0].AsInt64()
	if err != nil {
		return storagefw.Reply{}, false
	}
	str := func(i int) ([]byte, bool) {
		if i >= len(el) {
			return nil, false
		}
		s, err := el[i].ToString()
		return []byte(s), err == nil
	}
	switch r.kind {
	case cmdCAS:
		switch code {
		case 1:
			return storagefw.Reply{Code: storagefw.Success}, true
		case 2:
			return storagefw.Reply{Code: storagefw.KeyNotFound}, true
		case 0:
			if v, ok := str(1); ok && len(el) == 2 {
				return storagefw.Reply{Code: storagefw.KeyExists, Value: v}, true
			}
		}
	case cmdIncr:
		v, ok := str(1)
		if !ok || len(el) != 2 {
			return storagefw.Reply{}, false
		}
		msg := "increment: " + string(v)
		switch code {
		case 1:
			return storagefw.Reply{Code: storagefw.Success, Value: v}, true
		case 3:
			return storagefw.Reply{Code: storagefw.ValTypeMismatch, Error: msg}, true
		case 4:
			return storagefw.Reply{Code: storagefw.OperationFailed, Error: msg}, true
		case 5:
			return storagefw.Reply{Code: storagefw.UnserializationFailed, Error: msg}, true
		}
	}
	return storagefw.Reply{}, false
}

// scanResult interprets a scan script's {cursor, key1, value1, ...}.
func scanResult(res rueidis.RedisResult) (storagefw.Reply, bool) {
	el, err := res.ToArray()
	if err != nil || len(el)%2 != 1 {
		return storagefw.Reply{}, false
	}
	cursor, err := el[0].ToString()
	if err != nil {
		return storagefw.Reply{}, false
	}
	out := storagefw.Reply{Code: storagefw.Success, Entries: make([]storagefw.Reply, 0, len(el)/2)}
	for i := 1; i+1 < len(el); i += 2 {
		k, err1 := el[i].ToString()
		v, err2 := el[i+1].ToString()
		if err1 != nil || err2 != nil {
			return storagefw.Reply{}, false
		}
		out.Entries = append(out.Entries, storagefw.Reply{Code: storagefw.Success, Key: []byte(k), Value: []byte(v)})
	}
	if cursor != "0" {
		out.Cursor = []byte(cursor)
	}
	return out, true
}

// sweepResult interprets sweepScript's {members handled, entries deleted}.
func sweepResult(res rueidis.RedisResult) (scanned, deleted int, err error) {
	el, err := res.ToArray()
	if err != nil {
		return 0, 0, err
	}
	if len(el) != 2 {
		return 0, 0, fmt.Errorf("expire got an unexpected reply: %s", describe(res))
	}
	s, err1 := el[0].AsInt64()
	d, err2 := el[1].AsInt64()
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("expire got an unexpected reply: %s", describe(res))
	}
	return int(s), int(d), nil
}

// isBatch reports whether k is a batch kind.
func isBatch(k storagefw.RequestKind) bool {
	switch k {
	case storagefw.GetManyRequest, storagefw.PutManyRequest, storagefw.EraseManyRequest:
		return true
	}
	return false
}

// batchState gathers a batch's entry results and completes the batch when
// the last arrives. The batch's own code is SUCCESS unless an entry was cut
// off (connection lost, timeout, ...): then it is that failure.
type batchState struct {
	op   *storagefw.Request
	mu   sync.Mutex
	left int
	res  storagefw.Reply
}

func (s *batchState) done(i int) func(storagefw.Reply) {
	return func(r storagefw.Reply) {
		s.mu.Lock()
		s.res.Entries[i] = r
		switch r.Code {
		case storagefw.ConnectionLost, storagefw.NotConnected, storagefw.Timeout:
			if s.res.Code == storagefw.Success {
				s.res.Code, s.res.Error = r.Code, r.Error
				if r.Code == storagefw.NotConnected {
					s.res.Error = strings.TrimPrefix(r.Error, "not sent: ")
				}
			}
		}
		s.left--
		last := s.left == 0
		s.mu.Unlock()
		if last {
			s.op.Complete(s.res)
		}
	}
}

// queueBatchLocked queues a batch's entries as their own commands, one
// after another. Entries it cannot run are appended to rejected. Call with
// b.mu held.
func (b *Backend) queueBatchLocked(op *storagefw.Request, deadline time.Duration, wall float64, rejected []*storagefw.Request) []*storagefw.Request {
	single := map[storagefw.RequestKind]storagefw.RequestKind{
		storagefw.GetManyRequest: storagefw.GetRequest, storagefw.PutManyRequest: storagefw.PutRequest,
		storagefw.EraseManyRequest: storagefw.EraseRequest}[op.Kind]
	s := &batchState{op: op, left: len(op.Entries), res: storagefw.Reply{Code: storagefw.Success, Entries: make([]storagefw.Reply, len(op.Entries))}}
	for i := range op.Entries {
		e := &op.Entries[i]
		child := storagefw.NewRequest(single, s.done(i))
		child.Key, child.Value, child.Overwrite, child.ExpireAt, child.Now = e.Key, e.Value, e.Overwrite, e.ExpireAt, op.Now
		r := b.newReqLocked(child, deadline, wall)
		if r == nil {
			rejected = append(rejected, child)
			continue
		}
		r.parent = op
		b.queue.push(r)
	}
	return rejected
}
