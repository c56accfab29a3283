//go:build linux

package input

import (
	"encoding/binary"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// rotWatch counts the files created at a path (by creation, a link or a
// rename into place), with inotify on the path's directory. Only the
// goroutine running Run uses it.
type rotWatch struct {
	fd   int
	base string
	buf  []byte
}

// newRotWatch starts counting the files created at path, or returns nil if
// it cannot (no inotify instance or watch available).
func newRotWatch(path string) *rotWatch {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil
	}
	if _, err := unix.InotifyAddWatch(fd, filepath.Dir(path), unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_ONLYDIR); err != nil {
		unix.Close(fd)
		return nil
	}
	return &rotWatch{fd: fd, base: filepath.Base(path), buf: make([]byte, 16<<10)}
}

// created returns the number of files created at the path since the last
// call, and lost = true if some creations may not have been counted (the
// event queue overflowed, or the directory went away).
func (w *rotWatch) created() (n int64, lost bool) {
	for {
		k, err := unix.Read(w.fd, w.buf)
		if err != nil || k <= 0 {
			return n, lost // EAGAIN: no more events for now
		}
		for off := 0; off+unix.SizeofInotifyEvent <= k; {
			mask := binary.NativeEndian.Uint32(w.buf[off+4:])
			nameLen := int(binary.NativeEndian.Uint32(w.buf[off+12:]))
			name := w.buf[off+unix.SizeofInotifyEvent : min(k, off+unix.SizeofInotifyEvent+nameLen)]
			for len(name) > 0 && name[len(name)-1] == 0 {
				name = name[:len(name)-1]
			}
			switch {
			case mask&(unix.IN_Q_OVERFLOW|unix.IN_IGNORED) != 0:
				lost = true
			case mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 && string(name) == w.base:
				n++
			}
			off += unix.SizeofInotifyEvent + nameLen
		}
	}
}

func (w *rotWatch) close() {
	if w != nil {
		unix.Close(w.fd)
	}
}
