package main

import "github.com/scriptd/scriptd/runtime"

// defaultExtensions are the globals every scriptd run gets beyond SPEC §2's
// core: the storage framework with its built-in backends.
func defaultExtensions() []runtime.Extension { return nil }
