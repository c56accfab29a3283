package input

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// aheadInput is a JSON file with every kind of line the reader treats
// specially, spread over many blocks, ending in Zeek TSV (a header line in
// the middle of a file switches its format).
func aheadInput() string {
	var b strings.Builder
	for i := 0; i < 3000; i++ {
		switch {
		case i%97 == 5:
			fmt.Fprintf(&b, "{\"_path\":\"dns\",\"n\":%d,}\n", i) // syntax error
		case i%89 == 7:
			b.WriteString("\n   \n") // blank lines
		case i%83 == 3:
			fmt.Fprintf(&b, "{\"_path\":\"dns\",\"ts\":%d.25,\"n\":%d}\r\n", 1521911720+i, i) // CRLF
		case i%79 == 11:
			fmt.Fprintf(&b, "{\"_path\":\"dns\",\"pad\":\"%s\"}\n", strings.Repeat("x", 300)) // too long
		case i%73 == 13:
			b.WriteString("# a comment is not a record\n")
		case i%71 == 17:
			fmt.Fprintf(&b, "{\"n\":%d}\n", i) // no event name
		case i%67 == 19:
			fmt.Fprintf(&b, "{\"_path\":\"init\",\"n\":%d}\n", i) // reserved
		case i%61 == 23:
			fmt.Fprintf(&b, "{\"_path\":\"dns\",\"ts\":\"soon\",\"n\":%d}\n", i) // bad ts
		case i%13 == 0:
			fmt.Fprintf(&b, "{\"_path\":\"conn\",\"ts\":\"2018-03-24T17:15:%02d.5Z\",\"uid\":\"C%d\",\"n\":%d,\"a\":[1,\"two\",{\"k\":null}]}\n", i%60, i, i)
		default:
			fmt.Fprintf(&b, "{\"_path\":\"dns\",\"ts\":%d.5,\"uid\":\"C%d\",\"query\":\"q%d.example\",\"n\":%d,\"AA\":%v}\n", 1521911720+i, i, i%50, i, i%2 == 0)
		}
	}
	b.WriteString("#separator \\x09\n#path\tweird\n#fields\tts\tname\n#types\ttime\tstring\n")
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, "1521911720.%06d\tw%d\n", i, i)
	}
	return b.String()
}

// readWith reads path with the given number of parse-ahead helpers and
// describes everything the reader produced.
func readWith(t *testing.T, path string, helpers int) (events []string, bad []string, stats Stats) {
	t.Helper()
	var log badLog
	r, err := Open(Spec{Path: path}, Options{OnBadRecord: log.add, MaxLineSize: 200, BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	r.aheadHelpers = helpers
	out := make(chan []Event, 4)
	errc := make(chan error, 1)
	go func() { errc <- r.Run(context.Background(), out); close(out) }()
	for batch := range out {
		for _, e := range batch {
			events = append(events, fmt.Sprintf("%s %s:%d ts=%v %v", e.Name, e.File, e.Line, e.TS, ordered(e.Record)))
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if (r.ahead != nil) != (helpers >= 2) {
		t.Fatalf("%d helpers: read ahead %v", helpers, r.ahead != nil)
	}
	for _, b := range log.get() {
		bad = append(bad, fmt.Sprintf("%s:%d: %v", b.File, b.Line, b.Err))
	}
	return events, bad, r.Stats()
}

// Reading ahead changes nothing the reader produces: the same events, in
// the same order, with the same lines, and the same bad records reported.
func TestParseAheadSameResults(t *testing.T) {
	dir := t.TempDir()
	content := aheadInput()
	for _, name := range []string{"in.json", "in.json.gz"} {
		path := filepath.Join(dir, name)
		data := []byte(content)
		if strings.HasSuffix(name, ".gz") {
			data = gzipBytes(t, data)
		}
		writeFile(t, dir, name, string(data))
		wantEv, wantBad, wantStats := readWith(t, path, 0)
		if len(wantEv) < 2500 || wantStats.Skipped < 150 || len(wantBad) < 8 || !strings.HasPrefix(wantEv[len(wantEv)-1], "weird ") {
			t.Fatalf("%s: the input does not exercise the reader: %d events, %d skipped, last %q", name, len(wantEv), wantStats.Skipped, wantEv[len(wantEv)-1])
		}
		for _, helpers := range []int{2, 3, 4} {
			ev, bad, stats := readWith(t, path, helpers)
			if !reflect.DeepEqual(ev, wantEv) {
				t.Errorf("%s, %d helpers: events differ (%d, want %d)", name, helpers, len(ev), len(wantEv))
				for i := range min(len(ev), len(wantEv)) {
					if ev[i] != wantEv[i] {
						t.Errorf("first difference: %q, want %q", ev[i], wantEv[i])
						break
					}
				}
			}
			if !reflect.DeepEqual(bad, wantBad) {
				t.Errorf("%s, %d helpers: bad records differ:\n%s\nwant\n%s", name, helpers, strings.Join(bad, "\n"), strings.Join(wantBad, "\n"))
			}
			stats.BytesRead, wantStats.BytesRead = 0, 0
			if stats != wantStats {
				t.Errorf("%s, %d helpers: stats %+v, want %+v", name, helpers, stats, wantStats)
			}
		}
	}
}

// A reader stopped in the middle of a file read ahead stops its helpers.
func TestParseAheadCancel(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "in.json", aheadInput())
	r, err := Open(Spec{Path: path}, Options{BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	r.aheadHelpers = 2
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan []Event) // unbuffered: the reader waits on the first batch
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx, out) }()
	<-out
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Fatalf("Run: %v, want context.Canceled", err)
	}
}
