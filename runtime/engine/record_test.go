package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scriptd/scriptd/runtime/input"
)

// A record is an ordinary object: keys in file order, values converted once
// (same identity on every read), writable, extensible and deletable, also
// while being enumerated; nested objects behave the same.
func TestRecordObject(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in.json")
	rec := `{"_path":"rec","ts":"2018-03-24T17:15:20.5Z","a":[1,"x"],"n":{"p":1,"q":null},"s":"str"}`
	if err := os.WriteFile(in, []byte(rec+"\n"+rec+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := writeScripts(t, map[string]string{"a.js": `
		let first = true;
		on("rec", (r) => {
			if (first) {
				first = false;
				print(Object.keys(r).join(","), r.ts, r.a === r.a, r.missing === undefined, "s" in r, "zz" in r);
				r.s = "changed"; r.extra = 1; r.n.z = 2;
				print(JSON.stringify(r));
				const seen = [];
				for (const k in r) { seen.push(k); delete r.a; delete r.n; }
				print(seen.join(","), Object.keys(r).join(","), r.s, r.extra, r.a);
				delete r.extra; r.extra = 3;
				print(Object.keys(r).join(","), r.extra);
				return;
			}
			print(JSON.stringify(r)); // the second record is untouched by edits to the first
		});
	`})
	r := runEngine(t, Config{Paths: []string{dir}, Inputs: []input.Spec{{Path: in}}})
	want := []string{
		"_path,ts,a,n,s 1521911720.5 true true true false",
		`{"_path":"rec","ts":1521911720.5,"a":[1,"x"],"n":{"p":1,"q":null,"z":2},"s":"changed","extra":1}`,
		"_path,ts,s,extra _path,ts,s,extra changed 1 undefined", // deleted keys not yet visited are skipped,
		"_path,ts,s,extra 3",
		`{"_path":"rec","ts":1521911720.5,"a":[1,"x"],"n":{"p":1,"q":null},"s":"str"}`,
	}
	if got := lines(r.stdout); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s\nstderr %s", strings.Join(got, "\n"), strings.Join(want, "\n"), r.stderr)
	}
}
