// Package engine is scriptd's script engine and its embedding API: it loads
// script directories as modules onto an event loop (package eventloop),
// keeps the event registry (on, emit, init/done, order_by lanes), installs
// the core globals (internal/globals) and the embedder's extensions through
// the narrow interface of package ext, feeds input records (package input)
// to handlers, answers calls (Call, POST /v1/call) and hosts extensions such
// as the storage binding (package storagejs). The reference is docs/.
//
// An Engine is created from a Config, run once with Run, and is not reusable.
// Apart from Emit, Ping and the statistics methods, which may be called from
// any goroutine, its methods are for the goroutine that created it; the
// goroutine calling Run runs every script runtime of the engine.
//
// # Versions
//
// The loaded scripts are a version: a goja runtime on its own event loop,
// with its own require registry, event handlers, timers and extensions.
// Over a run there may be several, one at a time in service:
//
//   - With Config.Watch, a change to the script files (see package watch)
//     builds a new version off to the side. If it fails to compile or its
//     top level throws, the running version goes on; the error is reported
//     on stderr with file:line:col and to the running scripts as the event
//     scriptd.reload_failed. Otherwise the running version is retired (its
//     timers cancelled, its in-flight async operations drained for at most
//     Config.ReloadDrainTimeout, its storage backends closed; its done does
//     not run) and the new version's init runs.
//   - A handler, timer callback, promise continuation or top level that runs
//     past Config.HandlerTimeout is interrupted by a watchdog and reported
//     with its origin; goja cannot be trusted after that, so the version is
//     rebuilt from the very sources it was loaded from, and init runs again.
//
// State meant to survive a reload belongs in storage. Events from outside
// the scripts (input records, Emit) wait in the engine's inbox until the
// version in service has settled its init, so each is handled exactly once,
// by exactly one version, in arrival order. done runs once, on the last
// version.
package engine
