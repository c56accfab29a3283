package storagejs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/runtime/engine"
	"github.com/scriptd/scriptd/runtime/ext"
	"github.com/scriptd/scriptd/runtime/storagejs"
	"github.com/scriptd/scriptd/storagefw"
)

// An open still pending when its version retires (a hot reload) is
// cancelled through the version's context: the backend's opener sees the
// context end, the open settles, and the retiring version does not have to
// abandon it.
func TestOpenPendingAtReloadIsCancelled(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "a.js")
	v1 := `on("init", async () => {
		Storage.Async.open_backend(Storage.STORAGE_BACKEND_SLOW, {slow: {}}, "string", "string")
			.then((r) => print("open settled: " + r.code));
		print("v1");
	});`
	if err := os.WriteFile(script, []byte(v1), 0o644); err != nil {
		t.Fatal(err)
	}
	openStarted := make(chan struct{}, 1)
	openEnded := make(chan error, 1)
	slow := storagefw.BackendType{Name: "SLOW", OptionsField: "slow", Open: func(ctx context.Context, _ storagefw.OpenConfig) (storagefw.Backend, error) {
		openStarted <- struct{}{}
		<-ctx.Done() // an open that only ends when told to
		openEnded <- ctx.Err()
		return nil, ctx.Err()
	}}
	var out, errb testutil.Buffer
	eng, err := engine.New(engine.Config{
		Paths: []string{dir}, Stdout: &out, Stderr: &errb, Watch: true, KeepAlive: true,
		WatchDebounce: 10 * time.Millisecond, ReloadDrainTimeout: 5 * time.Second,
		Extensions: []ext.Extension{storagejs.Extension(storagejs.Options{Backends: []storagefw.BackendType{slow}})},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- eng.Run(ctx) }()
	<-openStarted
	if err := os.WriteFile(script, []byte(`on("init", () => print("v2"));`), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-openEnded:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("open ended with %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the pending open was not cancelled by the reload; stderr: %s", errb.String())
	}
	testutil.Eventually(t, 0, "v2 in service", func() bool { return strings.Contains(out.String(), "v2") })
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "open settled: ") {
		t.Errorf("the cancelled open's promise did not settle in the retiring version: %q", got)
	}
	if strings.Contains(errb.String(), "abandoning") {
		t.Errorf("the retiring version had to abandon the open: %s", errb.String())
	}
}
