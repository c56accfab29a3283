package storagejs_test

import (
	"strings"
	"testing"
)

const openKV = `
const S = Storage, A = S.Async;
// goja has no for-await: iterate by hand.
const each = async (iterable, f) => {
	const it = iterable[Symbol.asyncIterator]();
	for (let x = await it.next(); !x.done; x = await it.next()) if (f(x.value) === false) { await it.return(); break; }
};
const open = async (t, k, v) => (await A.open_backend(S.STORAGE_BACKEND_SQLITE,
	{ sqlite: { database_path: "DIR/v2.db", table_name: t } }, k || "string", v || "count")).value;
`

// TestUpdateSemantics: fn sees the current value (undefined when absent),
// may be async and use storage itself, undefined erases, a throw rejects
// and writes nothing, and conflicts call fn again.
func TestUpdateSemantics(t *testing.T) {
	out, errs := run(t, openKV+`
		on("init", async () => {
			const h = await open("u");
			let r = await A.update(h, "k", (v) => { print("first", v); return 1; });
			print(r.code, r.value);
			r = await A.update(h, "k", async (v) => { const g = await A.get(h, "k"); return v + g.value + 1; });
			print(r.code, r.value, (await A.get(h, "k")).value);
			try {
				await A.update(h, "k", (v) => { throw new RangeError("no " + v); });
				print("resolved");
			} catch (e) { print("rejected", e.name, e.message); }
			try {
				await A.update(h, "k", async (v) => { await null; throw "plain " + v; });
			} catch (e) { print("rejected", e); }
			print("unchanged", (await A.get(h, "k")).value);
			r = await A.update(h, "k", () => undefined);
			print("erase", r.code, r.value, (await A.get(h, "k")).code);
			r = await A.update(h, "k", () => -1);
			print("bad value", r.code);
			// A conflict: the first call's write is raced by a put, so fn runs again.
			await A.put(h, { key: "c", value: 10 });
			let calls = 0;
			r = await A.update(h, "c", async (v) => {
				calls++;
				if (calls === 1) await A.put(h, { key: "c", value: 20 });
				return v + 1;
			});
			print("conflict", r.code, r.value, calls);
			calls = 0;
			r = await A.update(h, "c", async (v) => { calls++; await A.put(h, { key: "c", value: v + 100 }); return v; }, { max_attempts: 3 });
			print("exhausted", r.code, calls);
			const many = await Promise.all(Array.from({ length: 40 }, () => A.update(h, "n", async (v) => (v ?? 0) + 1)));
			print("many", many.every((x) => x.code === S.SUCCESS), (await A.get(h, "n")).value);
		});
	`)
	want := strings.Join([]string{
		"first undefined",
		"SUCCESS 1",
		"SUCCESS 3 3",
		"rejected RangeError no 3",
		"rejected plain 3",
		"unchanged 3",
		"erase SUCCESS undefined KEY_NOT_FOUND",
		"bad value VAL_TYPE_MISMATCH",
		"conflict SUCCESS 21 2",
		"exhausted OPERATION_FAILED 3",
		"many true 40",
	}, "\n")
	if out != want {
		t.Fatalf("got\n%s\nwant\n%s\nstderr: %s", out, want, errs)
	}
}

// TestNewCallsRefusedOutsideAwaitingContext: every new Async call throws
// from a plain handler and sends nothing; the Sync forms work there.
func TestNewCallsRefusedOutsideAwaitingContext(t *testing.T) {
	out, _ := run(t, openKV+`
		let h;
		on("init", async () => { h = await open("r"); emit("plain"); });
		on("plain", () => {
			const res = [];
			for (const f of [
				() => A.get_many(h, ["a"]), () => A.put_many(h, [{ key: "a", value: 1 }]), () => A.erase_many(h, ["a"]),
				() => A.compare_and_swap(h, { key: "a", value: 1 }), () => A.increment(h, { key: "a" }),
				() => A.update(h, "a", () => 1), () => A.scan(h, {}), () => A.entries(h, {}),
			]) {
				try { f(); res.push("sent"); } catch (e) { res.push(e.message.includes("awaiting context")); }
			}
			print(res.join(","));
			const Y = S.Sync;
			print(Y.put_many(h, [{ key: "a", value: 1 }]).value[0].code, Y.get_many(h, ["a"]).value[0].value,
				Y.increment(h, { key: "a", by: 2 }).value, Y.compare_and_swap(h, { key: "a", expected: 3, value: 4 }).code,
				Y.update(h, "a", (v) => v * 2).value, Y.scan(h, {}).value.entries.length, Y.erase_many(h, ["a"]).value[0].code);
			try { Y.update(h, "b", async (v) => 1); } catch (e) { print(e.name); }
			try { Y.update(h, "b", (v) => { throw new Error("boom"); }); } catch (e) { print(e.message); }
			print(Y.get(h, "b").code);
		});
	`)
	want := "true,true,true,true,true,true,true,true\nSUCCESS 1 3 SUCCESS 8 1 SUCCESS\nTypeError\nboom\nKEY_NOT_FOUND"
	if out != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
}

// TestEntriesAndScan: entries pages through scan; prefixes are exact
// (no LIKE or glob meaning); a scan with a prefix on non-string keys is
// KEY_TYPE_MISMATCH; bad arguments throw without holding the loop.
func TestEntriesAndScan(t *testing.T) {
	out, _ := run(t, openKV+`
		on("init", async () => {
			const h = await open("e", "string", "string");
			const keys = ["a%1", "a_2", "ab3", "a*4", "a[5", "ä6", 'a"7'];
			for (let i = 0; i < 250; i++) keys.push("bulk" + i);
			await A.put_many(h, keys.map((k) => ({ key: k, value: k })));
			let n = 0;
			await each(A.entries(h, { limit: 7 }), (e) => { if (e.key !== e.value) print("mismatch", e.key); n++; });
			print("all", n);
			const pick = async (p) => { const got = []; await each(A.entries(h, { prefix: p }), (e) => { got.push(e.key); }); return got.sort().join(" "); };
			print(await pick("a%"), "|", await pick("a_"), "|", await pick("a*"), "|", await pick("a["), "|", await pick("ä"), "|", await pick('a"'));
			// Breaking out of the loop early is fine.
			await each(A.entries(h, { prefix: "bulk", limit: 2 }), () => false);
			const c = await open("ec", "count", "string");
			print((await A.scan(c, { prefix: "x" })).code, (await A.scan(c, {})).code);
			const errs = [];
			for (const f of [() => A.scan(h, { limit: -1 }), () => A.get_many(h, "k"), () => A.put_many(h, [1]),
				() => A.compare_and_swap(h, "k"), () => A.increment(h), () => A.update(h, "k", 1), () => A.scan(h, { cursor: 5 })]) {
				try { f(); errs.push("no-throw"); } catch (e) { errs.push(e.name); }
			}
			print(errs.join(","));
			print((await A.scan(h, { cursor: "!!" })).code);
		});
	`)
	want := "all 257\na%1 | a_2 | a*4 | a[5 | ä6 | a\"7\nKEY_TYPE_MISMATCH SUCCESS\nTypeError,TypeError,TypeError,TypeError,TypeError,TypeError,TypeError\nOPERATION_FAILED"
	if out != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
}

// TestBatchesAndCodes: per-entry codes, NOT_CONNECTED first on a closed
// handle, increment type rules.
func TestBatchesAndCodes(t *testing.T) {
	out, _ := run(t, openKV+`
		on("init", async () => {
			const h = await open("b");
			let r = await A.get_many(h, ["x", 5, "y"]);
			print(r.code, r.value.map((e) => e.code).join());
			r = await A.put_many(h, [{ key: "x", value: 1, expire_time: 100 }, { key: 7, value: 1 }, { key: "y", value: "nope" }]);
			print(r.code, r.value.map((e) => e.code).join());
			r = await A.increment(h, { key: "x", by: 1.5 });
			print("fraction", r.code);
			r = await A.increment(h, { key: "x", by: "1" });
			print("string by", r.code);
			const s = await open("bs", "string", "string");
			print("string type", (await A.increment(s, { key: "x" })).code);
			const d = await open("bd", "string", "double");
			await A.increment(d, { key: "x", by: 0.5 });
			print("double", (await A.increment(d, { key: "x", by: 2 })).value);
			const any = await open("ba", "string", "any");
			print("any", (await A.increment(any, { key: "x", by: 2 })).value, (await A.increment(any, { key: "x", by: 0.25 })).value);
			r = await A.compare_and_swap(h, { key: "x", expected: "one", value: 2 });
			print("cas bad expected", r.code);
			await A.close_backend(h);
			r = await Promise.all([A.get_many(h, [1]), A.put_many(h, [{ key: 1, value: "bad" }]), A.erase_many(h, []),
				A.compare_and_swap(h, { key: 1, value: "x" }), A.increment(h, { key: 1, by: "x" }), A.update(h, 1, () => 1), A.scan(h, { prefix: "p" })]);
			print(r.map((x) => x.code).join());
		});
	`)
	want := strings.Join([]string{
		"SUCCESS KEY_NOT_FOUND,KEY_TYPE_MISMATCH,KEY_NOT_FOUND",
		"SUCCESS SUCCESS,KEY_TYPE_MISMATCH,VAL_TYPE_MISMATCH",
		"fraction VAL_TYPE_MISMATCH",
		"string by VAL_TYPE_MISMATCH",
		"string type VAL_TYPE_MISMATCH",
		"double 2.5",
		"any 2 2.25",
		"cas bad expected VAL_TYPE_MISMATCH",
		strings.TrimSuffix(strings.Repeat("NOT_CONNECTED,", 7), ","),
	}, "\n")
	if out != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
}
