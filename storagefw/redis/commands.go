package redis

import "math"

// This file holds the commands the backend sends, one builder function per
// command. A builder only lists the command's arguments and hands them to
// encoder.command (resp.go), the one place that writes a command, as a RESP
// array of bulk strings. Nothing here allocates: the arguments live on the
// builder's stack and refer to the caller's strings and byte slices.

// argKind says how an arg is written.
type argKind uint8

const (
	argText  argKind = iota + 1 // s
	argBytes                    // b
	argKey                      // s + ":" + b, one bulk string (an entry key)
	argInt                      // n, in decimal
	argFloat                    // math.Float64frombits(n), shortest round-trip decimal
)

// arg is one argument of a command; each is sent as a bulk string.
type arg struct {
	kind argKind
	s    string
	b    []byte
	n    uint64
}

// text is a literal argument (a command name, a flag, a script SHA).
func text(s string) arg { return arg{kind: argText, s: s} }

// bulk is a binary-safe argument (a serialized key or value).
func bulk(b []byte) arg { return arg{kind: argBytes, b: b} }

// entryKey is the Redis key of an entry, "<key_prefix>:<serialized key>",
// written without building the string. A nil key gives "<key_prefix>:",
// the prefix every entry key starts with.
func entryKey(prefix string, key []byte) arg { return arg{kind: argKey, s: prefix, b: key} }

// integer is a decimal integer argument.
func integer(n int64) arg { return arg{kind: argInt, n: uint64(n)} }

// float is a number argument in the shortest decimal form that reads back
// exactly (Redis parses scores with strtod, Lua with tonumber).
func float(f float64) arg { return arg{kind: argFloat, n: math.Float64bits(f)} }

// Live mode: Zeek's commands.

// setCmd is SET key value [NX] [PXAT ms]: NX when the put must not
// overwrite, PXAT when pxatMs > 0 (see pxatMillis).
func setCmd(e *encoder, key arg, value []byte, nx bool, pxatMs int64) {
	args := [6]arg{text("SET"), key, bulk(value)}
	n := 3
	if nx {
		args[n] = text("NX")
		n++
	}
	if pxatMs > 0 {
		args[n], args[n+1] = text("PXAT"), integer(pxatMs)
		n += 2
	}
	e.command(args[:n]...)
}

// pxatMillis is SET's PXAT argument for an absolute expiry in seconds, 0
// for none. As Zeek: static_cast<uint64_t>(expiration_time * 1e3), and at
// least 1 (PXAT 0 is an error).
func pxatMillis(expireAt float64) int64 {
	if expireAt <= 0 {
		return 0
	}
	return max(int64(expireAt*1e3), 1)
}

// getCmd is GET key.
func getCmd(e *encoder, key arg) { e.command(text("GET"), key) }

// delCmd is DEL key.
func delCmd(e *encoder, key arg) { e.command(text("DEL"), key) }

// Replay mode: the expiry set and transactions.

// multiCmd is MULTI, which opens a transaction.
func multiCmd(e *encoder) { e.command(text("MULTI")) }

// execCmd is EXEC, which runs a transaction.
func execCmd(e *encoder) { e.command(text("EXEC")) }

// zaddCmd is ZADD set score member.
func zaddCmd(e *encoder, set string, score float64, member []byte) {
	e.command(text("ZADD"), text(set), float(score), bulk(member))
}

// zremCmd is ZREM set member.
func zremCmd(e *encoder, set string, member []byte) {
	e.command(text("ZREM"), text(set), bulk(member))
}

// zscoreCmd is ZSCORE set member.
func zscoreCmd(e *encoder, set string, member []byte) {
	e.command(text("ZSCORE"), text(set), bulk(member))
}

// Lua scripts (scripts.go).

// evalPutNXCmd runs putNXScript: EVALSHA sha 2 key set member value
// expireAt now.
func evalPutNXCmd(e *encoder, sha string, key arg, set string, member, value []byte, expireAt, now float64) {
	e.command(text("EVALSHA"), text(sha), text("2"), key, text(set), bulk(member), bulk(value), float(expireAt), float(now))
}

// evalSweepCmd runs sweepScript: EVALSHA sha 1 set now batch keyPrefix.
func evalSweepCmd(e *encoder, sha, set string, now float64, batch int64, keyPrefix arg) {
	e.command(text("EVALSHA"), text(sha), text("1"), text(set), float(now), integer(batch), keyPrefix)
}

// scriptLoadCmd is SCRIPT LOAD body.
func scriptLoadCmd(e *encoder, body string) { e.command(text("SCRIPT"), text("LOAD"), text(body)) }

// The handshake.

// authCmd is AUTH [username] password (AUTH with a username needs Redis 6).
func authCmd(e *encoder, username, password string) {
	if username == "" {
		e.command(text("AUTH"), text(password))
		return
	}
	e.command(text("AUTH"), text(username), text(password))
}

// infoCmd is INFO section.
func infoCmd(e *encoder, section string) { e.command(text("INFO"), text(section)) }
