//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly

package main

// isTerminal reports false where no terminal check is implemented: the
// progress line then needs --progress=always.
func isTerminal(uintptr) bool { return false }
