// Package runtime is scriptd's script engine: it loads script directories
// as CommonJS modules onto an event loop, keeps the event registry (on,
// emit, init/done), installs the script globals of SPEC §2, feeds input
// records to handlers and hosts extensions such as the storage framework.
//
// An Engine is created from a Config, run once with Run, and is not reusable.
// Apart from Emit, which may be called from any goroutine, its methods are
// for the goroutine that created it.
package runtime
