package storagetest

import (
	"testing"

	"go.uber.org/goleak"
)

// VerifyNoLeaks makes t check, once it and all of its cleanups are done,
// that every goroutine started since the call has exited (a backend's
// goroutines must all be gone after Close). Call it first in the test: its
// cleanup then runs last, after those that close backends, clients and
// databases and kill servers, whose goroutines would otherwise count.
// goleak retries for a while, so a goroutine in its last instructions after
// a WaitGroup.Done is not taken for a leak.
//
// It returns the option that ignores the goroutines running at the call,
// for checks in the middle of the test (goleak.Find, goleak.VerifyNone).
// Those goroutines belong to the testing package, or are the stragglers of
// earlier tests of the package (a killed server's output copier, say): not
// this test's to account for. Tests using it must not run in parallel.
// more are further goleak options for the final check (goroutines of a
// library known to outlive Close for a bounded time).
func VerifyNoLeaks(t testing.TB, more ...goleak.Option) goleak.Option {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, append([]goleak.Option{ignore}, more...)...) })
	return ignore
}
