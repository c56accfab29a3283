package main

import "syscall"

// defaultMaxMemory is half the machine's memory, at most 4 GiB.
func defaultMaxMemory() byteSize {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return 2 << 30
	}
	half := uint64(si.Totalram) * uint64(si.Unit) / 2
	return byteSize(min(half, 4<<30))
}
