// Package stream reads scriptd's stream inputs (SPEC §7): records shared by
// several scriptd processes through a stream with consumer groups, on
// existing engines.
//
//	nats://HOST:PORT/STREAM?durable=GROUP     NATS JetStream: a durable pull consumer
//	redis://HOST:PORT/STREAMKEY?group=GROUP   Redis Streams: a consumer group
//	rediss://HOST:PORT/STREAMKEY?group=GROUP&tls_ca_file=...   the same over TLS
//
// A [Source] produces batches of [input.Event] like an [input.Reader]
// does, so the engine runs it beside file readers; its records are checked
// as JSON lines are (see [input.NewEvent]): "_path" or NAME= names the
// event, reserved names and implausible ts are bad records. A NATS
// message's body is one record as JSON; a Redis entry carries it in its
// field "record".
//
// # Delivery
//
// Each event carries an [input.Event.Ack] that the engine calls once every
// handler of the record has settled (promises included), whether it
// succeeded or failed; only then is the record acknowledged to the stream.
// A record whose handlers failed is acknowledged too (its errors were
// reported): a script that wants a retry writes the record to a stream of
// its own, a dead-letter stream, from the handler. A message that is not
// a JSON object (or not a valid record) is reported with its stream and
// sequence as a bad record and acknowledged at once, so it is never
// redelivered. Records delivered to a process and not acknowledged within
// the redelivery time (RedeliverAfter, default 30 s) go to another process
// of the group: JetStream's AckWait; for Redis, every process runs
// XAUTOCLAIM of entries idle that long. Delivery is therefore at least
// once. A redelivered record may come back to the process that holds it
// (its handlers are slow, or were abandoned with an interrupted runtime):
// the new delivery then supersedes the old one. Records held for half
// the redelivery time are kept alive (JetStream: "in progress", which
// restarts AckWait; Redis: XCLAIM ... JUSTID to the holder, which resets
// the entry's idle time), so slow handlers keep their records; records
// whose handlers were cut off are given back at once through
// [input.Event.Release].
//
// Backpressure: a process holds at most Options.MaxInFlight records
// delivered and not yet acknowledged; beyond, it stops taking records
// (JetStream: plus a bounded pull window; the consumer scriptd creates has
// no MaxAckPending, so each process's limit is its own). A server
// that goes away is reconnected to with backoff; acknowledgements that
// cannot be sent meanwhile are kept and sent after the reconnection, or,
// if the process ends first, their records are redelivered.
//
// Stale Redis consumers: each process reads under a consumer name of its
// own, and Redis keeps a dead process's name listed forever. After an
// XAUTOCLAIM pass (at start, then at most every 10 minutes) a process
// removes, in one script, the consumers that hold no pending entry and
// have been idle Options.StaleConsumerAfter (max(10 × redeliver_after,
// 1 h)); one holding entries is never removed, which would make them
// unclaimable.
//
// Shutdown: when Run's context ends the source stops pulling; records it
// holds that were never handed to the engine are given back at once
// (NATS: Nak; Redis: their idle time is set so that the other processes'
// next XAUTOCLAIM takes them). [Source.Close], called once the engine has
// let the handlers of the records it took settle, sends the acknowledgements
// still queued, gives back what is still unacknowledged, and closes the
// connection.
package stream
