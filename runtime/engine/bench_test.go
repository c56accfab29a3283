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

// loadFixture writes n top-level scripts of about 50 lines each, in
// TypeScript with ES module syntax (ts) or as the same code in plain
// CommonJS JavaScript, each importing a shared module and scriptd/known.
func loadFixture(tb testing.TB, n int, ts bool) string {
	tb.Helper()
	dir := tb.TempDir()
	write := func(name, src string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	if ts {
		write("lib/common.ts", "export interface Rec { query?: string; rcode?: number; ts: number }\nexport const norm = (s?: string): string => (s ?? \"\").trim().toLowerCase();\n")
	} else {
		write("lib/common.js", "exports.norm = (s) => (s ?? \"\").trim().toLowerCase();\n")
	}
	for i := range n {
		var src string
		if ts {
			src = fmt.Sprintf(`import { norm, type Rec } from "./lib/common";
import { Known } from "scriptd/known";

enum Level { Low = 1, High = 2 }

interface Finding {
  host: string;
  level: Level;
  count: number;
  first: number;
}

class Tracker%[1]d {
  private seen = new Map<string, Finding>();
  constructor(private readonly threshold: number) {}

  add(r: Rec): Finding | undefined {
    const host = norm(r.query);
    if (!host) return undefined;
    let f = this.seen.get(host);
    if (!f) {
      f = { host, level: Level.Low, count: 0, first: r.ts };
      this.seen.set(host, f);
    }
    f.count++;
    if (f.count >= this.threshold) f.level = Level.High;
    return f;
  }

  get size(): number { return this.seen.size; }
}

const tracker = new Tracker%[1]d(%[1]d + 3);
const known: unknown = Known;

on("dns", (r: Rec): void => {
  const f = tracker.add(r);
  if (f?.level === Level.High && f.count === %[1]d + 3) {
    print("high", f.host, f.count);
  }
});

on("done", (): void => {
  if (tracker.size > 1000000) print("never", typeof known);
});

export const name: string = "script-%[1]d";
`, i)
		} else {
			src = fmt.Sprintf(`const { norm } = require("./lib/common");
const { Known } = require("scriptd/known");

const Level = { Low: 1, High: 2 };

class Tracker%[1]d {
  seen = new Map();
  constructor(threshold) {
    this.threshold = threshold;
  }

  add(r) {
    const host = norm(r.query);
    if (!host) return undefined;
    let f = this.seen.get(host);
    if (!f) {
      f = { host, level: Level.Low, count: 0, first: r.ts };
      this.seen.set(host, f);
    }
    f.count++;
    if (f.count >= this.threshold) f.level = Level.High;
    return f;
  }

  get size() { return this.seen.size; }
}

const tracker = new Tracker%[1]d(%[1]d + 3);
const known = Known;

on("dns", (r) => {
  const f = tracker.add(r);
  if (f?.level === Level.High && f.count === %[1]d + 3) {
    print("high", f.host, f.count);
  }
});

on("done", () => {
  if (tracker.size > 1000000) print("never", typeof known);
});

exports.name = "script-%[1]d";
`, i)
		}
		ext := ".js"
		if ts {
			ext = ".ts"
		}
		write(fmt.Sprintf("s%03d%s", i, ext), src)
	}
	return dir
}

// BenchmarkLoad200 measures loading a directory of 200 scripts (New:
// read, transform where needed, compile, run every top level): ts is
// TypeScript with ES modules (every file transformed by esbuild), js the
// same code as plain CommonJS (loaded untouched). ns/op is per load of
// all 200.
func BenchmarkLoad200(b *testing.B) {
	for _, kind := range []string{"ts", "js"} {
		b.Run(kind, func(b *testing.B) {
			dir := loadFixture(b, 200, kind == "ts")
			for b.Loop() {
				e, err := New(Config{Paths: []string{dir}, Stdout: io.Discard, Stderr: io.Discard, LogDir: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				e.closeVersion(e.cur.Load())
			}
		})
	}
}
