package httpapi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultAdmissionTimeout bounds how long an event waits for admission.
const DefaultAdmissionTimeout = 30 * time.Second

// Admission holds new events while too many storage operations are in
// flight: the HTTP counterpart of the input readers' --max-in-flight
// backpressure. Wire Done into the storage framework's observer so that
// waiters wake as operations finish.
//
// Concurrency: all methods are safe from any goroutine; Done never blocks.
type Admission struct {
	limit    int
	inFlight func() int
	timeout  time.Duration

	mu      sync.Mutex
	changed chan struct{} // closed (and replaced) by Done while someone waits
}

// NewAdmission admits events while inFlight() < limit. A limit <= 0 admits
// everything. timeout bounds one wait (default DefaultAdmissionTimeout).
func NewAdmission(limit int, inFlight func() int, timeout time.Duration) *Admission {
	if timeout <= 0 {
		timeout = DefaultAdmissionTimeout
	}
	return &Admission{limit: limit, inFlight: inFlight, timeout: timeout}
}

// Done reports that an operation finished.
func (a *Admission) Done() {
	a.mu.Lock()
	if a.changed != nil {
		close(a.changed)
		a.changed = nil
	}
	a.mu.Unlock()
}

// errAdmissionTimeout is returned when the wait exceeded the timeout.
var errAdmissionTimeout = errors.New("admission timed out")

// Wait returns nil once fewer than limit operations are in flight, or an
// error when ctx or stop ends first or the timeout passes.
func (a *Admission) Wait(ctx context.Context, stop context.Context) error {
	if a == nil || a.limit <= 0 || a.inFlight == nil {
		return nil
	}
	if a.inFlight() < a.limit {
		return nil
	}
	timer := time.NewTimer(a.timeout)
	defer timer.Stop()
	// Poll as a fallback in case a wakeup is missed (e.g. an operation
	// that finishes without reaching the observer).
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		a.mu.Lock()
		if a.changed == nil {
			a.changed = make(chan struct{})
		}
		ch := a.changed
		a.mu.Unlock()
		if a.inFlight() < a.limit {
			return nil
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-timer.C:
			return fmt.Errorf("%w after %v", errAdmissionTimeout, a.timeout)
		case <-ctx.Done():
			return ctx.Err()
		case <-stop.Done():
			return errors.New("server shutting down")
		}
	}
}
