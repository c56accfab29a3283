package main

import (
	"fmt"
	"strconv"
	"strings"
)

// byteSize is a flag value in bytes written as 1073741824, 1GiB, 512MiB,
// 2GB or 100MB.
type byteSize uint64

var sizeUnits = []struct {
	suffix string
	mult   uint64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

func (s *byteSize) String() string { return strconv.FormatUint(uint64(*s), 10) }

func (s *byteSize) Set(v string) error {
	t := strings.TrimSpace(v)
	mult := uint64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 || n != n {
		return fmt.Errorf("want a size such as 512MiB or 2GiB, got %q", v)
	}
	*s = byteSize(n * float64(mult))
	return nil
}
