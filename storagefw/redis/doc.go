// Package redis is the storage framework's Redis backend
// (Storage.STORAGE_BACKEND_REDIS), a port of Zeek's
// src/storage/backend/redis that shares Zeek's data layout, so that Zeek and
// scriptd can use the same Redis server:
//
//   - an entry is the string key "<key_prefix>:<serialized key>" holding the
//     serialized value, where both serializations are the framework's
//     ("JSONv1;" followed by JSON text), stored byte for byte;
//   - live traffic (network time within a few seconds of the wall clock)
//     uses Redis's own expiry: SET <key> <value> [NX] [PXAT <ms>], GET, DEL,
//     exactly the commands Zeek issues;
//   - replayed traffic (network time far from the wall clock) keeps expiry
//     times in the sorted set "<key_prefix>_expire" (member: serialized key,
//     score: absolute expiry in seconds), as Zeek does while reading traces.
//     Each op reads or writes the entry and its score in one atomic step, so
//     an entry whose expiry is <= the op's network time is absent even before
//     a sweep removes it, and a value is never paired with another write's
//     expiry: get is MULTI/ZSCORE/GET/EXEC, put is MULTI/SET/ZADD (or ZREM
//     when it has no expiry)/EXEC, erase is MULTI/ZSCORE/DEL/ZREM/EXEC, and
//     put with overwrite:false, which must decide, is a small Lua script.
//     Expire (and the periodic sweep) runs Zeek's pass (ZRANGEBYSCORE -inf
//     now, DEL each entry, remove it from the set) as a Lua script, in
//     batches. Once an op's network time is more than a few seconds from the
//     wall clock, the Backend stays in replay mode.
//
// # Connection, pipelining and ordering
//
// A Backend talks to the server over one connection. Submit appends ops to
// a queue; a writer goroutine takes everything queued (up to a cap), encodes
// it into one buffer and writes it with one system call; a reader goroutine
// decodes replies and completes ops in order. Because one connection
// carries every op of a Backend in Submit order and Redis executes a
// connection's commands in order, ops take effect in Submit order and a get
// sees every put submitted before it, without waiting.
//
// operation_timeout applies to each op from its Submit: an op without a
// reply by then completes with TIMEOUT (an op still queued is then never
// sent; a reply arriving later for a sent op is discarded). The connection is
// kept, so the order of later ops is unaffected.
//
// When the connection drops, the Backend reports storagefw.BackendLost
// through OpenConfig.Notify, completes every op in flight with
// CONNECTION_LOST, completes new ops at once with NOT_CONNECTED, and
// reconnects in the background with capped exponential backoff (50 ms to
// 2 s); once connected again (including AUTH and the version check) it
// reports storagefw.BackendOpened and accepts ops again.
//
// # Concurrency and lifecycle
//
// Submit, Expire and Close may be called from any goroutine. Requests must not be
// modified after Submit; each is completed exactly once, from one of the
// backend's goroutines (or from the caller's goroutine when it fails at
// once), so completion callbacks must not block for long. They may call
// Submit, but not Close or Expire, which wait for the goroutine running the
// callback. Close stops accepting ops, lets the ops already submitted
// finish (bounded by ctx and operation_timeout), closes the connection and
// returns after every goroutine of the Backend has exited; afterwards every
// op completes with NOT_CONNECTED and Expire fails.
package redis
