package storagejs_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/runtime/engine"
	"github.com/scriptd/scriptd/runtime/ext"
	"github.com/scriptd/scriptd/runtime/storagejs"
	"github.com/scriptd/scriptd/storagefw/builtin"
)

// run executes src with the storage extension (real SQLite files in a temp
// dir) and returns stdout and stderr; it fails if the run does not end.
func run(t *testing.T, src string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "s.js")
	src = strings.ReplaceAll(src, "DIR", dir)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb testutil.Buffer
	eng, err := engine.New(engine.Config{
		Paths: []string{p}, Stdout: &out, Stderr: &errb, ShutdownGrace: 2 * time.Second,
		Extensions: []ext.Extension{storagejs.Extension(storagejs.Options{Backends: builtin.Backends()})},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := eng.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("run did not end on its own (a leaked reservation?); stderr: %s", errb.String())
	}
	return strings.TrimSpace(out.String()), errb.String()
}

func TestBackendEventsRedactPassword(t *testing.T) {
	out, _ := run(t, `
		const seen = [];
		on("Storage.backend_opened", (tag, o) => seen.push(["opened", tag, o.redis ? o.redis.password : o.sqlite.table_name]));
		on("Storage.backend_lost", (tag, o, why) => seen.push(["lost", tag, why]));
		on("init", async () => {
			// A failed Redis open (nothing listens on port 1) raises no event.
			const r = await Storage.Async.open_backend(Storage.STORAGE_BACKEND_REDIS,
				{ redis: { server_host: "127.0.0.1", server_port: 1, password: "hunter2", connect_timeout: "200ms" } }, "string", "string");
			print(r.code, /^Failed to open backend/.test(r.error_str), JSON.stringify(r).includes("hunter2"));
			const h = (await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE,
				{ sqlite: { database_path: "DIR/a.db", table_name: "t" } }, "string", "string")).value;
			await Storage.Async.close_backend(h);
		});
		on("done", () => print(JSON.stringify(seen)));
	`)
	lines := strings.Split(out, "\n")
	if len(lines) != 2 || lines[0] != "CONNECTION_FAILED true false" {
		t.Fatalf("open result: %q", out)
	}
	if lines[1] != `[["opened","STORAGE_BACKEND_SQLITE","t"],["lost","STORAGE_BACKEND_SQLITE","Client disconnected"]]` {
		t.Fatalf("events: %s", lines[1])
	}
}

// TestBackendOpenedOrder: Storage.backend_opened of a Sync open in a
// when() condition runs after that when's body (Zeek runs the body inline,
// the event after the handler: btest sqlite/basic-sync-in-when), and that
// of an Async open before the code awaiting it goes on (btest sqlite/basic).
func TestBackendOpenedOrder(t *testing.T) {
	out, errs := run(t, `
		const order = [];
		on("Storage.backend_opened", (tag, o) => order.push("opened " + o.sqlite.table_name));
		on("init", async () => {
			when(() => Storage.Sync.open_backend(Storage.STORAGE_BACKEND_SQLITE,
				{ sqlite: { database_path: "DIR/s.db", table_name: "s" } }, "string", "string"), (r) => {
				order.push("when-body " + r.code);
				Storage.Sync.close_backend(r.value);
			});
			order.push("handler-sync-end");
			const r = await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE,
				{ sqlite: { database_path: "DIR/a.db", table_name: "a" } }, "string", "string");
			order.push("continuation " + r.code);
			await Storage.Async.close_backend(r.value);
		});
		on("done", () => print(order.join(",")));
	`)
	want := "handler-sync-end,when-body SUCCESS,opened s,opened a,continuation SUCCESS"
	if out != want || errs != "" {
		t.Fatalf("order = %s\nwant    %s\nstderr: %s", out, want, errs)
	}
}

func TestForcedSyncWorksAnywhere(t *testing.T) {
	out, _ := run(t, `
		const opts = { forced_sync: true, sqlite: { database_path: "DIR/f.db", table_name: "t" } };
		on("init", () => {   // a plain handler: not an awaiting context
			Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE, opts, "string", "count").then(async (r) => {
				const h = r.value;
				print(Storage.is_forced_sync(h));
				const p = Storage.Async.put(h, { key: "n", value: 1 });
				setTimeout(() => Storage.Async.get(h, "n").then((g) => print(g.code, g.value)), 1);
				await p;
			});
		});
	`)
	if out != "true\nSUCCESS 1" {
		t.Fatalf("got %q", out)
	}
}

// A call that throws on a bad argument must not leave a reservation behind:
// the run ends on its own.
func TestBadArgumentsThrowAndReleaseTheLoop(t *testing.T) {
	out, _ := run(t, `
		on("init", async () => {
			const h = (await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE,
				{ sqlite: { database_path: "DIR/b.db", table_name: "t" } }, "string", "string")).value;
			const errs = [];
			for (const f of [
				() => Storage.Async.put(h, { key: "k", value: "v", expire_time: "soon" }),
				() => Storage.Async.put(h, "not-an-object"),
				() => Storage.Async.get({}, "k"),
				() => Storage.Async.open_backend("NOPE", {}, "string", "string"),
			]) {
				try { f(); errs.push("no-throw"); } catch (e) { errs.push(e.name); }
			}
			print(errs.join(","));
		});
	`)
	if out != "TypeError,TypeError,TypeError,TypeError" {
		t.Fatalf("got %q", out)
	}
}

func TestRefusedOutsideAwaitingContextSendsNothing(t *testing.T) {
	out, _ := run(t, `
		let h;
		on("init", async () => {
			h = (await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE,
				{ sqlite: { database_path: "DIR/c.db", table_name: "t" } }, "string", "string")).value;
			emit("plain");
		});
		on("plain", () => {
			try { Storage.Async.put(h, { key: "x", value: "y" }); print("sent"); }
			catch (e) { print(e.message.includes("Storage.Async.put") && e.message.includes("awaiting context")); }
			emit("check");
		});
		on("check", async () => { print((await Storage.Async.get(h, "x")).code); });
	`)
	if out != "true\nKEY_NOT_FOUND" {
		t.Fatalf("got %q", out)
	}
}
