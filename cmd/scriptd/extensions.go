package main

import (
	"github.com/scriptd/scriptd/runtime/ext"
	"github.com/scriptd/scriptd/runtime/storagejs"
	"github.com/scriptd/scriptd/storagefw/builtin"
)

// defaultExtensions are the globals every scriptd run gets beyond the core
// ones: the storage framework with its built-in backends. storage carries
// the run's hooks (observer, OnFramework); its Backends, if empty, become
// the built-in ones.
func defaultExtensions(storage storagejs.Options) []ext.Extension {
	if len(storage.Backends) == 0 {
		storage.Backends = builtin.Backends()
	}
	return []ext.Extension{storagejs.Extension(storage)}
}
