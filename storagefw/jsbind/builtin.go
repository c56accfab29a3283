package jsbind

import (
	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/redis"
	"github.com/scriptd/scriptd/storagefw/sqlite"
)

// BuiltinBackends are the backends every scriptd binary has: SQLite (the
// embedded default) and Redis. Append your own storagefw.BackendType to
// register another; it appears to scripts as Storage.STORAGE_BACKEND_<Name>.
func BuiltinBackends() []storagefw.BackendType {
	return []storagefw.BackendType{sqlite.Type(), redis.Type()}
}
