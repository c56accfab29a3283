// Package eventloop runs JavaScript on one goroutine.
//
// A Loop owns a goja.Runtime. Only the goroutine inside Run touches it; every
// other goroutine hands work over with Submit, or completes work it reserved
// with Reserve. Run returns when nothing is left to do: the task queue is
// empty, no reservation is outstanding and no timer is pending.
//
// The loop also keeps the awaiting context (docs/scripts.md): a marker that follows an
// async function the runtime dispatched across await and .then, so that
// storage calls can refuse to run anywhere else. See Context.
//
// A Watchdog bounds how long one callback may run: the loop publishes an
// activity beat (one atomic store per callback or promise job) that the
// watchdog samples, interrupting the runtime when the beat stands still for
// the limit. An interrupted loop is broken (see Loop): its owner replaces it.
package eventloop
