package tests

import (
	"strings"
	"testing"
)

// POST /v1/call/{name} answers with the handlers' result (the first value
// other than undefined, in priority order, awaited), 404 without a handler,
// 500 when a handler throws, 504 past ?timeout=.
func TestHTTPCall(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s/a.js": `
on("lookup", (q) => undefined, { priority: 10 });
on("lookup", async (q) => { await null; return { host: q.host, score: q.host.length }; }, { priority: 5 });
on("lookup", (q) => "lower priority, not the answer");
on("sum", (a, b) => a + b);
on("boom", () => { throw new Error("no such thing"); });
on("slow", () => new Promise(() => {}));
on("nothing", () => {});
`})
	hp := startListening(t, dir, "s")
	for _, tc := range []struct {
		path, body string
		code       int
		want       string
	}{
		{"/v1/call/lookup", `{"host":"example.org"}`, 200, `{"host":"example.org","score":11}`},
		{"/v1/call/sum?args=array", `[2, 3]`, 200, `5`},
		{"/v1/call/nothing", `null`, 200, `null`},
		{"/v1/call/unknown", `{}`, 404, `no handler for \"unknown\"`},
		{"/v1/call/boom", `{}`, 500, `no such thing`},
		{"/v1/call/slow?timeout=200ms", `{}`, 504, `no result within 200ms`},
		{"/v1/call/done", `{}`, 400, `reserved`},
		{"/v1/call/sum", `{bad`, 400, `malformed JSON`},
	} {
		code, body := hp.call(t, "POST", tc.path, []byte(tc.body))
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("POST %s %s: %d %s, want %d containing %s", tc.path, tc.body, code, body, tc.code, tc.want)
		}
	}
}
