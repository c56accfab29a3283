package tests

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// --deny-net and --allow-net restrict fetch(); by default scripts reach any
// host, as in Node.
func TestFetchNetworkPolicyFlags(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	defer srv.Close()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"f.js": fmt.Sprintf(`on("init", async () => {
  try { print("got " + await (await fetch(%q)).text()); } catch (e) { print(e.message); }
});`, srv.URL)})
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{nil, "got ok"},
		{[]string{"--allow-net", host}, "got ok"},
		{[]string{"--allow-net", "example.org,127.0.0.2"}, "is not allowed"},
		{[]string{"--deny-net"}, "network access is disabled"},
	} {
		r := runScriptd(t, dir, 20*time.Second, append([]string{"run", "f.js"}, tc.flags...)...)
		if !strings.Contains(r.Stdout, tc.want) {
			t.Errorf("%v: stdout %q, want %q (stderr %s)", tc.flags, r.Stdout, tc.want, r.Stderr)
		}
	}
}
