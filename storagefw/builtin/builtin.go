// Package builtin lists the storage backends every scriptd binary has:
// SQLite (the embedded default) and Redis. It is the one list of them; the
// binary hands it to the Storage binding, and an embedder may hand it on
// as is, trimmed, or with its own storagefw.BackendType appended (it
// appears to scripts as Storage.STORAGE_BACKEND_<Name>).
package builtin

import (
	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/redis"
	"github.com/scriptd/scriptd/storagefw/sqlite"
)

// Backends returns the built-in backend types, SQLite first. Each call
// returns a fresh slice the caller may append to.
func Backends() []storagefw.BackendType {
	return []storagefw.BackendType{sqlite.Type(), redis.Type()}
}
