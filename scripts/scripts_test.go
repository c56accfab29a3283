package scripts_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scriptd/scriptd/runtime/engine"
	"github.com/scriptd/scriptd/runtime/ext"
	"github.com/scriptd/scriptd/runtime/input"
	"github.com/scriptd/scriptd/runtime/storagejs"
	"github.com/scriptd/scriptd/scripts"
	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/sqlite"
)

type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) { b.mu.Lock(); defer b.mu.Unlock(); return b.b.Write(p) }
func (b *buffer) String() string              { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

// run executes script with records (JSON lines) as input in dir and returns stdout.
func run(t *testing.T, dir, script string, records []string) string {
	t.Helper()
	sp := filepath.Join(dir, "s.js")
	if err := os.WriteFile(sp, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	var inputs []input.Spec
	if len(records) > 0 {
		ip := filepath.Join(dir, "in.json")
		if err := os.WriteFile(ip, []byte(strings.Join(records, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, input.Spec{Path: ip})
	}
	var out, errb buffer
	e, err := engine.New(engine.Config{
		Paths: []string{sp}, Inputs: inputs, Stdout: &out, Stderr: &errb, LogDir: dir,
		Extensions: []ext.Extension{storagejs.Extension(storagejs.Options{Backends: []storagefw.BackendType{sqlite.Type()}})},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if errb.String() != "" {
		t.Errorf("stderr: %s", errb.String())
	}
	return strings.TrimSpace(out.String())
}

func TestBundledModulesCompile(t *testing.T) {
	names := scripts.Names()
	if len(names) < 2 {
		t.Fatalf("names = %v", names)
	}
	for _, n := range names {
		src, ok := scripts.Source(n)
		if !ok || len(src) == 0 {
			t.Fatalf("no source for %s", n)
		}
		errs := engine.CheckSource(n, src)
		if len(errs) > 0 {
			t.Errorf("%s: %v", n, errs)
		}
	}
	if _, ok := scripts.Source("scriptd/nope"); ok {
		t.Error("unknown module found")
	}
}

func TestKnownAddsOncePerExpiry(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	// Network time comes from the records: day 0, day 0 + 1h, day 2.
	recs := []string{
		`{"_path":"seen","ts":1000,"k":"a"}`,
		`{"_path":"seen","ts":1001,"k":"b"}`,
		`{"_path":"seen","ts":4600,"k":"a"}`,
		`{"_path":"seen","ts":180000,"k":"a"}`,
	}
	out := run(t, dir, fmt.Sprintf(`
		const { Known } = require("scriptd/known");
		const k = new Known({ name: "t", expire: "1d", options: { sqlite: { database_path: %q, table_name: "t" } } });
		const got = [];
		on("seen", async (r) => { got.push(r.k + ":" + (await k.add(r.k))); });
		on("done", () => print(got.join(" ")));
	`, db), recs)
	if out != "a:true b:true a:false a:true" {
		t.Fatalf("got %q", out)
	}
}

func TestSumStatsThresholdAndEpochs(t *testing.T) {
	dir := t.TempDir()
	var recs []string
	// Epoch 1 (t=0..60): src x queries 5 names (one twice), src y 2.
	for i, q := range []string{"a", "b", "c", "c", "d", "e"} {
		recs = append(recs, fmt.Sprintf(`{"_path":"q","ts":%d,"src":"x","q":%q}`, 100+i, q))
	}
	recs = append(recs, `{"_path":"q","ts":110,"src":"y","q":"a"}`, `{"_path":"q","ts":111,"src":"y","q":"b"}`)
	// Epoch 2: x again, below threshold.
	recs = append(recs, `{"_path":"q","ts":170,"src":"x","q":"z"}`)
	out := run(t, dir, `
		const { SumStats } = require("scriptd/sumstats");
		const lines = [];
		const s = new SumStats({
			epoch: "1m", reducer: "unique", threshold: 4,
			on_threshold: (k, v) => lines.push("threshold " + k + "=" + v),
			on_epoch: (res) => lines.push("epoch " + [...res].map(([k, v]) => k + "=" + v).join(",")),
		});
		on("q", (r) => s.observe(r.src, r.q));
		on("done", () => { s.flush(); print(lines.join("; ")); });
	`, recs)
	want := "threshold x=4; epoch x=5,y=2; epoch x=1"
	if out != want {
		t.Fatalf("got  %q\nwant %q", out, want)
	}
}
