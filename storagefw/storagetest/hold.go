package storagetest

import (
	"context"
	"sync"

	"github.com/scriptd/scriptd/storagefw"
)

// HoldBackend is a backend whose operations stay running until Release, for
// tests of what watches operations in flight (the operations registry,
// metrics, HTTP waits). Safe for concurrent use.
type HoldBackend struct {
	mu  sync.Mutex
	ops []*storagefw.Request
}

// Submit holds ops.
func (b *HoldBackend) Submit(ops ...*storagefw.Request) {
	b.mu.Lock()
	b.ops = append(b.ops, ops...)
	b.mu.Unlock()
}

// Release completes every held op with SUCCESS.
func (b *HoldBackend) Release() {
	b.mu.Lock()
	ops := b.ops
	b.ops = nil
	b.mu.Unlock()
	for _, op := range ops {
		op.Complete(storagefw.Reply{Code: storagefw.Success})
	}
}

// Take marks every held op as taken by the backend (storagefw.Request.Take),
// as a backend does when it sends them: they can no longer be cancelled.
func (b *HoldBackend) Take() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, op := range b.ops {
		op.Take()
	}
}

// Pending reports how many ops are held.
func (b *HoldBackend) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.ops)
}

// Close releases what is held.
func (b *HoldBackend) Close(context.Context) error { b.Release(); return nil }
