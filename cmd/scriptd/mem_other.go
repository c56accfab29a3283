//go:build !linux

package main

// defaultMaxMemory is 2 GiB where the machine's memory is not looked up.
func defaultMaxMemory() byteSize { return 2 << 30 }
