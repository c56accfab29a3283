package main

import (
	"github.com/scriptd/scriptd/runtime"
	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/jsbind"
	"github.com/scriptd/scriptd/storagefw/redis"
	"github.com/scriptd/scriptd/storagefw/sqlite"
)

// builtinBackends are the storage backends every scriptd binary has.
func builtinBackends() []storagefw.BackendType {
	return []storagefw.BackendType{sqlite.Type(), redis.Type()}
}

// defaultExtensions are the globals every scriptd run gets beyond SPEC §2's
// core: the storage framework with its built-in backends. storage carries
// the run's hooks (observer, OnFramework); its Backends, if empty, become
// the built-in ones.
func defaultExtensions(storage jsbind.Options) []runtime.Extension {
	if len(storage.Backends) == 0 {
		storage.Backends = builtinBackends()
	}
	return []runtime.Extension{jsbind.Extension(storage)}
}
