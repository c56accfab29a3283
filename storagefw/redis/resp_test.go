package redis

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	in := "+OK\r\n+QUEUED\r\n+PONG\r\n-ERR bad\r\n:42\r\n$3\r\nabc\r\n$0\r\n\r\n$-1\r\n*2\r\n$1\r\nx\r\n*1\r\n:7\r\n*-1\r\n$5\r\na\r\nb\r\r\n"
	br := bufio.NewReader(strings.NewReader(in))
	next := func() reply {
		t.Helper()
		r, err := readReply(br)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := next(); r.kind != '+' || r.status != "OK" {
		t.Fatalf("%+v", r)
	}
	if r := next(); r.status != "QUEUED" {
		t.Fatalf("%+v", r)
	}
	if r := next(); r.status != "PONG" {
		t.Fatalf("%+v", r)
	}
	if r := next(); !r.isError() || r.errString() != "ERR bad" {
		t.Fatalf("%+v", r)
	}
	if r := next(); r.kind != ':' || r.n != 42 {
		t.Fatalf("%+v", r)
	}
	if r := next(); r.kind != '$' || string(r.str) != "abc" {
		t.Fatalf("%+v", r)
	}
	if r := next(); r.kind != '$' || r.null || len(r.str) != 0 {
		t.Fatalf("%+v", r)
	}
	if r := next(); r.kind != '$' || !r.null {
		t.Fatalf("%+v", r)
	}
	if r := next(); r.kind != '*' || len(r.elems) != 2 || string(r.elems[0].str) != "x" || r.elems[1].elems[0].n != 7 {
		t.Fatalf("%+v", r)
	}
	if r := next(); r.kind != '*' || !r.null {
		t.Fatalf("%+v", r)
	}
	// Binary-safe bulk strings (CR/LF inside).
	if r := next(); string(r.str) != "a\r\nb\r" {
		t.Fatalf("%q", r.str)
	}
	if _, err := readReply(br); err != io.EOF {
		t.Fatalf("at end: %v", err)
	}

	for _, bad := range []string{"?x\r\n", ":12x\r\n", "$3\r\nabcd\r\n", "OK\n", "*1\r\n"} {
		_, err := readReply(bufio.NewReader(strings.NewReader(bad)))
		if err == nil || err == io.EOF {
			t.Errorf("readReply(%q) = %v, want an error", bad, err)
		}
	}
	_, err := readReply(bufio.NewReader(strings.NewReader("$1000000000\r\n")))
	if !errors.Is(err, errProtocol) {
		t.Errorf("huge bulk: %v", err)
	}
}

func TestEncoder(t *testing.T) {
	var buf bytes.Buffer
	e := encoder{w: bufio.NewWriter(&buf)}
	e.command(text("SET"), entryKey("p", []byte(`JSONv1;"k"`)), bulk([]byte("v")), integer(1700000000123), float(1700000010.25))
	e.w.Flush()
	want := "*5\r\n$3\r\nSET\r\n$12\r\np:JSONv1;\"k\"\r\n$1\r\nv\r\n$13\r\n1700000000123\r\n$13\r\n1700000010.25\r\n"
	if buf.String() != want {
		t.Fatalf("encoded %q, want %q", buf.String(), want)
	}
}
