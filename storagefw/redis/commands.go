package redis

import (
	"strconv"

	"github.com/redis/rueidis"
)

// This file holds the commands the backend sends, one builder per command
// (rueidis.Completed, an array of bulk strings). Live mode sends Zeek's own
// commands; replay mode and the calls beyond Zeek are Lua scripts
// (scripts.go, extended.go) called with EVALSHA over Zeek's key layout.
// In a cluster, keys are named through rueidis's Keys, so that rueidis
// routes each command to the master serving the key's slot; elsewhere they
// are plain arguments (Keys hashes each key, for nothing there).

// keyed is a command builder that knows whether keys need slots.
type keyed struct {
	rueidis.Builder
	cluster bool
}

// bs is b as a string without copying (rueidis only reads it).
func bs(b []byte) string { return rueidis.BinaryString(b) }

// entryKey is the Redis key of an entry, "<key_prefix>:<serialized key>".
// A nil key gives "<key_prefix>:", the prefix every entry key starts with.
func entryKey(prefix string, key []byte) string {
	k := make([]byte, 0, len(prefix)+1+len(key))
	k = append(k, prefix...)
	k = append(k, ':')
	k = append(k, key...)
	return bs(k)
}

// num is a number argument in the shortest decimal form that reads back
// exactly (Redis parses scores with strtod, Lua with tonumber).
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// integer is a decimal integer argument.
func integer(n int64) string { return strconv.FormatInt(n, 10) }

// Live mode: Zeek's commands.

// setCmd is SET key value [NX] [PXAT ms]: NX when the put must not
// overwrite, PXAT when pxatMs > 0 (see pxatMillis).
func setCmd(b keyed, key string, value []byte, nx bool, pxatMs int64) rueidis.Completed {
	c := b.Arbitrary("SET")
	if b.cluster {
		c = c.Keys(key).Args(bs(value))
	} else {
		c = c.Args(key, bs(value))
	}
	if nx {
		c = c.Args("NX")
	}
	if pxatMs > 0 {
		c = c.Args("PXAT", integer(pxatMs))
	}
	return c.Build()
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
func getCmd(b keyed, key string) rueidis.Completed {
	if b.cluster {
		return b.Arbitrary("GET").Keys(key).Build()
	}
	return b.Arbitrary("GET", key).Build()
}

// delCmd is DEL key.
func delCmd(b keyed, key string) rueidis.Completed {
	if b.cluster {
		return b.Arbitrary("DEL").Keys(key).Build()
	}
	return b.Arbitrary("DEL", key).Build()
}

// Scripts.

// evalshaCmd is EVALSHA sha numkeys key... arg...
func evalshaCmd(b keyed, sha string, keys []string, args ...string) rueidis.Completed {
	c := b.Arbitrary("EVALSHA", sha, strconv.Itoa(len(keys)))
	if b.cluster && len(keys) > 0 {
		c = c.Keys(keys...)
	} else {
		c = c.Args(keys...)
	}
	return c.Args(args...).Build()
}

// scriptLoadCmd is SCRIPT LOAD body.
func scriptLoadCmd(b rueidis.Builder, body string) rueidis.Completed {
	return b.Arbitrary("SCRIPT", "LOAD").Args(body).Build()
}

// The handshake and health checks. (AUTH is sent by rueidis when it
// connects, as Zeek does: AUTH [username] password.)

// infoCmd is INFO section.
func infoCmd(b rueidis.Builder, section string) rueidis.Completed {
	return b.Arbitrary("INFO").Args(section).Build()
}

// roleCmd is ROLE (Sentinel: is the server we reached the master?).
func roleCmd(b rueidis.Builder) rueidis.Completed { return b.Arbitrary("ROLE").Build() }

// clusterSlotsCmd is CLUSTER SLOTS (the masters and their slot ranges).
func clusterSlotsCmd(b rueidis.Builder) rueidis.Completed {
	return b.Arbitrary("CLUSTER", "SLOTS").Build()
}

// clusterInfoCmd is CLUSTER INFO (cluster_state).
func clusterInfoCmd(b rueidis.Builder) rueidis.Completed {
	return b.Arbitrary("CLUSTER", "INFO").Build()
}
