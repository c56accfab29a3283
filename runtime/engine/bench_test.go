package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/runtime/input"
)

// BenchmarkDispatch measures the dispatch hot path alone: one event to one
// sync handler, inside one task.
func BenchmarkDispatch(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.js"), []byte(`let n = 0; on("dns", (r) => { if (r === 1) n++; });`), 0o644); err != nil {
		b.Fatal(err)
	}
	e, err := New(Config{Paths: []string{dir}, Stdout: io.Discard, Stderr: io.Discard, LogDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	v := e.cur.Load()
	args := []goja.Value{v.loop.Runtime().ToValue(1)}
	v.loop.RunTask(func() {
		for b.Loop() {
			v.fire("dns", args, nil)
		}
	})
}

// BenchmarkDispatchInput measures the input hot path end to end (read,
// parse, dispatch to one sync handler): ns/op is per record.
func BenchmarkDispatchInput(b *testing.B) {
	dir := b.TempDir()
	in := filepath.Join(dir, "in.json")
	var sb strings.Builder
	const records = 100_000
	for k := range records {
		fmt.Fprintf(&sb, `{"_path":"dns","ts":%d.5,"uid":"C%d","id.orig_h":"10.0.0.%d","query":"host%d.example.com","rcode":0}`+"\n", 1521911720+k/100, k, k%250, k%1000)
	}
	if err := os.WriteFile(in, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	scripts := filepath.Join(dir, "s")
	if err := os.MkdirAll(scripts, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(scripts, "a.js"), []byte(`let n = 0; on("dns", (r) => { if (r.rcode === 0) n++; }); on("done", () => print(n));`), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		e, err := New(Config{Paths: []string{scripts}, Inputs: []input.Spec{{Path: in}}, Stdout: io.Discard, Stderr: io.Discard, LogDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
}
