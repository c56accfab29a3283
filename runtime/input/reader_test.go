package input

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(Spec{Path: filepath.Join(dir, "dns.json")}, Options{})
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want not-exist", err)
	}
	want := "open input " + filepath.Join(dir, "dns.json") + ": no such file or directory"
	if err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if _, err := Open(Spec{Path: dir}, Options{}); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: err = %v", err)
	}
	// gzip magic but a damaged header.
	p := writeFile(t, dir, "bad.gz", "\x1f\x8bjunk")
	if _, err := Open(Spec{Path: p}, Options{}); err == nil || !strings.Contains(err.Error(), "open input "+p+": gzip") {
		t.Errorf("bad gzip header: err = %v", err)
	}
}

func TestJSONMalformedLineInMiddle(t *testing.T) {
	dir := t.TempDir()
	content := `{"_path":"dns","ts":1.5,"n":1}
{"_path":"dns","n":2}
{"_path":"dns","n":3,}
[1,2,3]

   
{"n":7}
{"_path":"conn","n":8}
{"_path":"dns","n":9`
	path := writeFile(t, dir, "x.json", content)
	var bad badLog
	evs, r := readAll(t, Spec{Path: path}, Options{OnBadRecord: bad.add})
	var got []string
	for _, e := range evs {
		n, _ := e.Record.Get("n")
		got = append(got, fmt.Sprintf("%s:%d:%v", e.Name, e.Line, n))
	}
	if want := []string{"dns:1:1", "dns:2:2", "conn:8:8"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if evs[0].TS != 1.5 || evs[1].TS != 0 {
		t.Errorf("ts %v %v", evs[0].TS, evs[1].TS)
	}
	b := bad.get()
	wantBad := []struct {
		line int
		msg  string
	}{{3, "column 22"}, {4, "not a JSON object"}, {7, "no event name"}, {9, "end of input"}}
	if len(b) != len(wantBad) {
		t.Fatalf("bad records %v", b)
	}
	for i, w := range wantBad {
		if b[i].Line != w.line || b[i].File != path || !strings.Contains(b[i].Err.Error(), w.msg) {
			t.Errorf("bad record %d: %d %v, want line %d %q", i, b[i].Line, b[i].Err, w.line, w.msg)
		}
	}
	if s := r.Stats(); s.Records != 3 || s.Skipped != 4 || s.BytesRead != int64(len(content)) || s.Size != int64(len(content)) {
		t.Errorf("stats %+v", s)
	}
}

func TestEventNameFromSpec(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "x.json", "{\"_path\":\"dns\"}\r\n{\"a\":1}\r\n")
	evs, _ := readAll(t, Spec{Event: "custom", Path: path}, Options{})
	if len(evs) != 2 || evs[0].Name != "custom" || evs[1].Name != "custom" {
		t.Fatalf("events %+v", evs)
	}
}

func TestISOTimestamp(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "x.json", "\xef\xbb\xbf"+`{"_path":"weird","ts":"2018-03-24T17:15:20.600843Z"}`+"\n")
	evs, _ := readAll(t, Spec{Path: path}, Options{})
	if len(evs) != 1 || evs[0].TS != 1521911720.600843 {
		t.Fatalf("events %+v", evs)
	}
	if v, _ := evs[0].Record.Get("ts"); v != "2018-03-24T17:15:20.600843Z" {
		t.Errorf("ts field = %#v, want the string kept", v)
	}
}

func TestGzipDetectedByMagic(t *testing.T) {
	dir := t.TempDir()
	var sb strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&sb, "{\"_path\":\"x\",\"i\":%d}\n", i)
	}
	gz := gzipBytes(t, []byte(sb.String()))
	// Compressed, no .gz suffix; and a .gz name that holds plain text.
	zpath := writeFile(t, dir, "data.json", string(gz))
	ppath := writeFile(t, dir, "plain.json.gz", sb.String())
	for _, path := range []string{zpath, ppath} {
		evs, r := readAll(t, Spec{Path: path}, Options{BatchSize: 64})
		if len(evs) != 1000 {
			t.Fatalf("%s: %d events", path, len(evs))
		}
		for i, e := range evs {
			if v, _ := e.Record.Get("i"); v != float64(i) || e.Line != i+1 {
				t.Fatalf("%s: event %d = %v line %d", path, i, v, e.Line)
			}
		}
		if s := r.Stats(); s.BytesRead != s.Size {
			t.Errorf("%s: stats %+v", path, s)
		}
	}
}

// closeRecorder is a reader that notes whether it was closed.
type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestStdin(t *testing.T) {
	in := &closeRecorder{Reader: strings.NewReader("{\"_path\":\"a\"}\n{\"_path\":\"b\"}")}
	evs, r := readAll(t, Spec{Path: "-"}, Options{Stdin: in, Follow: true})
	if len(evs) != 2 || evs[0].Name != "a" || evs[1].Name != "b" || evs[1].File != "-" || evs[1].Line != 2 {
		t.Fatalf("events %+v", evs)
	}
	if in.closed {
		t.Errorf("stdin was closed")
	}
	if s := r.Stats(); s.Size != 0 || s.Records != 2 {
		t.Errorf("stats %+v", s)
	}
	// Compressed stdin.
	in2 := strings.NewReader(string(gzipBytes(t, []byte("{\"_path\":\"z\"}\n"))))
	evs, _ = readAll(t, Spec{Path: "-"}, Options{Stdin: in2})
	if len(evs) != 1 || evs[0].Name != "z" {
		t.Fatalf("gzip stdin: %+v", evs)
	}
}

func TestLongLines(t *testing.T) {
	dir := t.TempDir()
	big := strings.Repeat("x", 1<<20) // longer than the read buffer
	content := `{"_path":"a","n":1}` + "\n" +
		`{"_path":"a","s":"` + big + `"}` + "\n" +
		`{"_path":"a","n":3}` + "\n" +
		`{"_path":"a","s":"` + big + big + `"}` + "\n" +
		`{"_path":"a","n":5}` + "\n" +
		`{"_path":"a","s":"` + big + big + big
	path := writeFile(t, dir, "long.json", content)
	var bad badLog
	evs, _ := readAll(t, Spec{Path: path}, Options{OnBadRecord: bad.add, MaxLineSize: 3 << 19})
	var lines []int
	for _, e := range evs {
		lines = append(lines, e.Line)
	}
	if fmt.Sprint(lines) != "[1 2 3 5]" {
		t.Errorf("event lines %v", lines)
	}
	if s, _ := evs[1].Record.Get("s"); s != big {
		t.Errorf("long line value has length %d", len(s.(string)))
	}
	b := bad.get()
	if len(b) != 2 || b[0].Line != 4 || b[1].Line != 6 || !strings.Contains(b[0].Err.Error(), "longer than") {
		t.Errorf("bad records %v", b)
	}
}

func TestBatches(t *testing.T) {
	dir := t.TempDir()
	var sb strings.Builder
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&sb, "{\"_path\":\"x\",\"i\":%d}\n", i)
	}
	path := writeFile(t, dir, "x.json", sb.String())
	r, err := Open(Spec{Path: path}, Options{BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan []Event, 10)
	if err := r.Run(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	close(out)
	var sizes []int
	for b := range out {
		sizes = append(sizes, len(b))
	}
	if fmt.Sprint(sizes) != "[3 3 3 1]" {
		t.Errorf("batch sizes %v", sizes)
	}
	if err := r.Run(context.Background(), out); err == nil {
		t.Errorf("second Run succeeded")
	}
}

// bigInput writes n small JSON lines and returns the path and the size.
func bigInput(t *testing.T, n int) (string, int64) {
	t.Helper()
	var sb strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "{\"_path\":\"x\",\"i\":%d,\"pad\":\"%030d\"}\n", i, i)
	}
	path := writeFile(t, t.TempDir(), "big.json", sb.String())
	return path, int64(sb.Len())
}

// TestBackpressure checks that a reader whose batches are not received
// stops after filling the channel instead of reading the whole input.
func TestBackpressure(t *testing.T) {
	const batch = 64
	path, size := bigInput(t, 200000) // ~12 MB
	r, err := Open(Spec{Path: path}, Options{BatchSize: batch})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan []Event, 1)
	errc := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { errc <- r.Run(ctx, out) }()

	// The reader fills the channel (one batch), builds the next one and
	// blocks sending it.
	waitFor(t, "the channel to fill", func() bool { return len(out) == 1 })
	// Bound: the batch in the channel, the one being sent, and what the
	// read buffers hold.
	bound := int64(readBufSize + 4*batch*64)
	for i := 0; i < 50; i++ {
		s := r.Stats()
		if s.Records > batch || s.BytesRead > bound {
			t.Fatalf("reader ran ahead: %+v (bound %d bytes of %d)", s, bound, size)
		}
		// Let the reader run if it could; it must not.
		select {
		case err := <-errc:
			t.Fatalf("Run returned early: %v", err)
		default:
		}
		letOthersRun()
	}
	// Draining the channel lets the reader finish, with nothing lost.
	total := 0
	for total < 200000 {
		b := <-out
		for j, e := range b {
			if v, _ := e.Record.Get("i"); v != float64(total+j) {
				t.Fatalf("event %d has i=%v", total+j, v)
			}
		}
		total += len(b)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if s := r.Stats(); s.Records != 200000 || s.BytesRead != size {
		t.Errorf("final stats %+v", s)
	}
}

func TestCancelWhileBlocked(t *testing.T) {
	path, _ := bigInput(t, 10000)
	r, err := Open(Spec{Path: path}, Options{BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan []Event) // never received from
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx, out) }()
	waitFor(t, "a read", func() bool { return r.Stats().BytesRead > 0 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

func TestReadErrorAfterRecords(t *testing.T) {
	var sb strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&sb, "{\"_path\":\"x\",\"i\":%d}\n", i)
	}
	gz := gzipBytes(t, []byte(sb.String()))
	gz = gz[:len(gz)-10] // cut the trailer and some data
	path := writeFile(t, t.TempDir(), "cut.json.gz", string(gz))
	r, err := Open(Spec{Path: path}, Options{BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan []Event, 1000)
	if err := r.Err(); err != nil {
		t.Errorf("Err before Run = %v", err)
	}
	err = r.Run(context.Background(), out)
	if err == nil || !strings.Contains(err.Error(), "read input "+path) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Run = %v", err)
	}
	close(out)
	n := 0
	for b := range out {
		n += len(b)
	}
	if n == 0 || int64(n) != r.Stats().Records {
		t.Errorf("%d records delivered before the error, stats %+v", n, r.Stats())
	}
	// The error names the input and how far it got, and stays available.
	var re *ReadError
	if !errors.As(err, &re) || re.File != path || re.Line != n {
		t.Fatalf("Run = %#v, want a ReadError for %s after line %d", err, path, n)
	}
	if want := fmt.Sprintf("read input %s, after line %d: truncated gzip data: unexpected EOF", path, n); err.Error() != want {
		t.Errorf("Run = %q, want %q", err, want)
	}
	if r.Err() != err {
		t.Errorf("Err = %v, want %v", r.Err(), err)
	}
}

// TestCorruptGzip reads a gzip file whose content was damaged: the damaged
// lines are bad records reported once in full and then as one count, and
// the failed checksum is a read error naming the file and the line reached.
func TestCorruptGzip(t *testing.T) {
	var sb strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&sb, "{\"_path\":\"x\",\"i\":%d}\n", i)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.NoCompression) // the lines stay readable in the file
	if err != nil {
		t.Fatal(err)
	}
	zw.Write([]byte(sb.String()))
	zw.Close()
	gz := buf.Bytes()
	var damaged []int // 1-based line numbers
	for i := 200; i < 500; i++ {
		line := []byte(fmt.Sprintf("{\"_path\":\"x\",\"i\":%d}", i))
		if k := bytes.Index(gz, line); k >= 0 {
			copy(gz[k:], bytes.Repeat([]byte("x"), len(line)))
			damaged = append(damaged, i+1)
		}
	}
	if len(damaged) < 100 {
		t.Fatalf("only %d lines damaged", len(damaged))
	}
	path := writeFile(t, t.TempDir(), "corrupt.json.gz", string(gz))
	var bad badLog
	r, err := Open(Spec{Path: path}, Options{OnBadRecord: bad.add})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan []Event, 1000)
	err = r.Run(context.Background(), out)
	close(out)
	n := 0
	for b := range out {
		n += len(b)
	}
	var re *ReadError
	if !errors.As(err, &re) || !errors.Is(err, gzip.ErrChecksum) || re.File != path || re.Line != 1000 {
		t.Fatalf("Run = %v, want a checksum ReadError after line 1000", err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "after line 1000") || !strings.Contains(err.Error(), "corrupt gzip") {
		t.Errorf("error %q does not say what and where", err)
	}
	if r.Err() != err {
		t.Errorf("Err = %v, want %v", r.Err(), err)
	}
	if n != 1000-len(damaged) {
		t.Errorf("%d events, want %d", n, 1000-len(damaged))
	}
	// No flood: the first damaged line in full, then the count of the others.
	b := bad.get()
	if len(b) != 2 {
		t.Fatalf("%d bad record reports, want 2; first %v", len(b), b[:min(3, len(b))])
	}
	if b[0].Line != damaged[0] || b[0].File != path || !strings.Contains(b[0].Err.Error(), "invalid character 'x'") {
		t.Errorf("first report %v", b[0])
	}
	var rep *RepeatedError
	if !errors.As(b[1].Err, &rep) || rep.Count != len(damaged)-1 || rep.First != damaged[0] || rep.Last != damaged[len(damaged)-1] ||
		b[1].Line != rep.Last || !strings.Contains(rep.Error(), "invalid character 'x'") {
		t.Errorf("second report %s:%d %v (%#v)", b[1].File, b[1].Line, b[1].Err, rep)
	}
	if s := r.Stats(); s.Skipped != int64(len(damaged)) {
		t.Errorf("stats %+v, want %d skipped", s, len(damaged))
	}
}

func TestCloseWithoutRun(t *testing.T) {
	path := writeFile(t, t.TempDir(), "x.json", "{}\n")
	r, err := Open(Spec{Path: path}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background(), make(chan []Event, 1)); err == nil {
		t.Errorf("Run after Close succeeded")
	}
	_ = os.Remove(path)
}
