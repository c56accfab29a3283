// Package storagefw is Zeek's storage framework for scriptd (docs/storage.md): a
// Framework opens backends registered as BackendTypes (SQLite and Redis
// ship in subpackages; embedders add their own), validates keys and values
// against their declared types, serializes them Zeek's way ("JSONv1;" and
// JSON) and hands backends Requests to execute. Every operation is registered in
// the Operations registry (id, method, backend, key, state, result).
//
// The Go API (Handle.PutAsync/GetAsync/EraseAsync and their blocking forms)
// is usable without JavaScript; package runtime/storagejs exposes it to scripts as the
// Storage global. A Framework owns no goroutines; backends own theirs and
// release them on Close. Handles and the Framework are safe for concurrent
// use; operations on one handle take effect in the order they were issued.
package storagefw
