// Package redis is the storage framework's Redis backend
// (Storage.STORAGE_BACKEND_REDIS), a port of Zeek's
// src/storage/backend/redis that shares Zeek's data layout, so that Zeek and
// scriptd can use the same Redis server, and that also runs on a Redis
// Cluster, behind Sentinel and over TLS (SPEC §7):
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
//     Each op reads or writes the entry and its score in one Lua script
//     (scripts.go), so an entry whose expiry is <= the op's network time is
//     absent even before a sweep removes it, and a value is never paired
//     with another write's expiry. Expire (and the periodic sweep) runs
//     Zeek's pass (ZRANGEBYSCORE -inf now, DEL each entry, remove it from
//     the set) as a Lua script, in batches. Once an op's network time is
//     more than a few seconds from the wall clock, the Backend stays in
//     replay mode;
//   - in a cluster the expiry set is one per hash slot (cluster.go).
//
// # Client
//
// The connections are github.com/redis/rueidis's, configured (client.go)
// for one connection per server (PipelineMultiplex -1, never a pooled
// connection for a long pipeline), no retries (a retry would reorder), no
// client-side cache, RESP2 as Zeek speaks it. Its connections are dialled
// by Backend.dial (TCP, Unix socket, TLS), which wraps each so that the
// Backend hears of a failure the moment rueidis's reader or writer meets
// it, and refuses to dial while the Backend is disconnected and not
// reconnecting: rueidis redials on demand, the Backend decides when.
//
// Nothing of the former hand-written RESP2 client is kept. What the Backend
// adds on top of rueidis is the per-handle dispatcher, the timeout watchdog
// and the loss/reconnect logic below. Measured against the hand-written
// client (interleaved runs of both on the same two-core machine, shared
// with other work; medians of six): BenchmarkAsync (Go, 50% SET, 50% GET)
// 31,000 vs 31,000 ops/s with 1 in flight, 265,000 vs 458,000 with 64
// (waiting for a pipeline's replies before sending the next costs most when
// pipelines are small), 653,000 vs 461,000 with 1,000; tests/bench P4, from
// JavaScript with 1,000 in flight, 45,900 vs 39,400 ops/s (the script is
// the bottleneck), from the Go API 267,000 vs 180,000, against 31,000 to
// 34,000 for go-redis with 64 goroutines.
//
// # Ordering
//
// Submit appends requests to a queue. One dispatcher goroutine per Backend
// takes everything queued (up to maxBatch), sends it as one pipeline
// (rueidis DoMulti) and waits for the replies before it sends the next.
// Hence every command of one pipeline is answered, and so executed, before
// any command of the next is handed to rueidis, and within a pipeline the
// commands travel in order on the one connection of their server, which
// Redis executes in order: requests take effect in Submit order, and a get
// sees every put submitted before it, without waiting. (rueidis's own
// auto-pipelining, many goroutines calling Do, orders commands by which
// goroutine reaches its queue first; issuing from one goroutine avoids
// relying on that.) A pipeline whose deadline passed is abandoned, not
// withdrawn: its commands stay ahead of the next pipeline's on the
// connection.
//
// In a cluster rueidis splits a pipeline by master and sends the parts in
// parallel: requests on keys of one slot keep their order (read-your-writes
// holds), requests on different masters within one pipeline may take
// effect in either order as another client sees it, and a request
// redirected by MOVED/ASK during resharding runs after the rest of its
// pipeline. A cluster's scan and sweep run alone, after everything before
// them has completed (barriers).
//
// # Timeouts and connection loss
//
// operation_timeout applies to each op from its Submit: the watchdog
// completes an op without a reply by then with TIMEOUT (an op still queued
// is then never sent; a reply arriving later for a sent op is discarded).
// Pipelines are sent with a context that is cancelled at the deadline but
// carries none, so that rueidis abandons the commands and keeps the
// connection; the order of later ops is unaffected.
//
// When a connection drops, the Backend reports storagefw.BackendLost
// ("Server closed the connection", as Zeek) through OpenConfig.Notify,
// completes the ops in flight with CONNECTION_LOST (a batch's entries not
// yet sent with NOT_CONNECTED: they certainly did not take effect), new ops
// at once with NOT_CONNECTED, and reconnects in the background with capped
// exponential backoff (50 ms to 2 s); once the handshake passes again (the
// version check, SCRIPT LOAD; Sentinel: ROLE is master; a cluster:
// cluster_state:ok and every master) it reports storagefw.BackendOpened and
// accepts ops again.
//
// Behind Sentinel, rueidis follows a failover announced by the sentinels
// (+switch-master) without a loss. While the master has a replica (ROLE,
// counted every second), every pipeline that writes ends with WAIT 1, and
// a write the master applied but no replica acknowledged in time is
// reported TIMEOUT rather than SUCCESS: asynchronous replication would
// otherwise lose the writes acknowledged between the replica's promotion
// and the switch (measured in TestSentinelFailover; docs/storage.md).
//
// A server that sends a reply nobody asked for makes rueidis panic (it
// takes it for its own bug); the hand-written client dropped the
// connection instead. A real Redis server does not do that.
//
// # Concurrency and lifecycle
//
// Submit, Expire and Close may be called from any goroutine. Requests must
// not be modified after Submit; each is completed exactly once, from one of
// the backend's goroutines (or from the caller's goroutine when it fails at
// once), so completion callbacks must not block for long. They may call
// Submit, but not Close or Expire, which wait for the goroutine running the
// callback. Close stops accepting ops, lets the ops already submitted
// finish (bounded by ctx and operation_timeout), closes the connections and
// returns after every goroutine of the Backend has exited; afterwards every
// op completes with NOT_CONNECTED and Expire fails.
package redis
