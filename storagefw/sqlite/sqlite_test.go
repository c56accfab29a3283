package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/storagetest"
)

// testLogger logs at debug level through t.Log when -v is given.
func testLogger(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return nil
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func fileOptions(path, table string) map[string]any {
	return map[string]any{"database_path": path, "table_name": table}
}

// openT opens a backend (readers < 0: the default pool) and fails the test on error.
func openT(t testing.TB, opts map[string]any, clock func() float64, readers int) *Backend {
	t.Helper()
	o, err := ParseOptions(opts)
	if err != nil {
		t.Fatalf("ParseOptions: %v", err)
	}
	if readers < 0 {
		readers = defaultReaders()
	}
	b, err := open(context.Background(), storagefw.OpenConfig{Options: opts, Clock: clock, Logger: testLogger(t)}, o, readers)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return b
}

func closeT(t testing.TB, b storagefw.Backend) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), storagetest.WaitTimeout)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestConformanceFileWAL(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, clock func() float64) storagefw.Backend {
		b := openT(t, fileOptions(filepath.Join(t.TempDir(), "db.sqlite"), "conformance"), clock, -1)
		if b.nreaders < 2 {
			t.Fatalf("a WAL file database should get reader connections, got %d", b.nreaders)
		}
		return b
	})
}

func TestConformanceFileSingleConn(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, clock func() float64) storagefw.Backend {
		return openT(t, fileOptions(filepath.Join(t.TempDir(), "db.sqlite"), "conformance"), clock, 0)
	})
}

func TestConformanceMemory(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, clock func() float64) storagefw.Backend {
		b := openT(t, fileOptions(":memory:", "conformance"), clock, -1)
		if b.nreaders != 0 {
			t.Fatalf(":memory: must use one connection, got %d readers", b.nreaders)
		}
		return b
	})
}

func TestConformanceRollbackJournal(t *testing.T) {
	// A database not in WAL mode falls back to a single connection.
	storagetest.Run(t, func(t *testing.T, clock func() float64) storagefw.Backend {
		opts := fileOptions(filepath.Join(t.TempDir(), "db.sqlite"), "conformance")
		opts["pragma_commands"] = map[string]any{"journal_mode": "DELETE", "synchronous": "full"}
		b := openT(t, opts, clock, -1)
		if b.nreaders != 0 {
			t.Fatalf("journal_mode=DELETE must use one connection, got %d readers", b.nreaders)
		}
		return b
	})
}

// rawDB opens path with database/sql for checking what the backend wrote.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestMain(m *testing.M) {
	if path := os.Getenv(killChildEnv); path != "" {
		os.Exit(runKillChild(path))
	}
	os.Exit(m.Run())
}

var (
	put   = storagetest.PutOp
	get   = storagetest.GetOp
	erase = storagetest.EraseOp
	ser   = storagetest.Ser
	do    = storagetest.Do
	want  = storagetest.Expect
)

const t0 = storagetest.StartTime

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions(fileOptions("/x/db", "t"))
	if err != nil {
		t.Fatal(err)
	}
	if o.BusyTimeout != 5*time.Second || o.PragmaTimeout != 500*time.Millisecond || o.PragmaWaitOnBusy != 5*time.Millisecond {
		t.Errorf("defaults: %+v", o)
	}
	if fmt.Sprint(o.Pragmas) != "[{quick_check } {journal_mode WAL} {synchronous normal} {temp_store memory}]" {
		t.Errorf("default pragmas: %v", o.Pragmas)
	}

	o, err = ParseOptions(map[string]any{"database_path": ":memory:", "table_name": "t",
		"busy_timeout": "250ms", "pragma_timeout": 2.5, "pragma_wait_on_busy": int64(1),
		"pragma_commands": map[string]any{"temp_store": "memory", "cache_size": -2000, "journal_mode": "wal", "page_size": 4096, "integrity_check": nil}})
	if err != nil {
		t.Fatal(err)
	}
	if o.BusyTimeout != 250*time.Millisecond || o.PragmaTimeout != 2500*time.Millisecond || o.PragmaWaitOnBusy != time.Second {
		t.Errorf("intervals: %+v", o)
	}
	if got := fmt.Sprint(o.Pragmas); got != "[{integrity_check } {page_size 4096} {journal_mode wal} {cache_size -2000} {temp_store memory}]" {
		t.Errorf("object pragmas run checks, then page_size, journal_mode, the rest by name; got %v", got)
	}
	o, err = ParseOptions(map[string]any{"database_path": "x", "table_name": "t",
		"pragma_commands": []any{[]any{"synchronous", "full"}, []any{"journal_mode", "delete"}, map[string]any{"name": "quick_check"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(o.Pragmas); got != "[{synchronous full} {journal_mode delete} {quick_check }]" {
		t.Errorf("array pragmas keep their order; got %v", got)
	}

	bad := []struct {
		opts map[string]any
		msg  string
	}{
		{nil, `sqlite option "database_path": missing`},
		{map[string]any{"table_name": "t"}, `sqlite option "database_path": missing`},
		{map[string]any{"database_path": nil, "table_name": "t"}, `sqlite option "database_path": missing`},
		{map[string]any{"database_path": "x"}, `sqlite option "table_name": missing`},
		{map[string]any{"database_path": "x", "table_name": ""}, `sqlite option "table_name": must be a non-empty`},
		{map[string]any{"database_path": 5.0, "table_name": "t"}, `sqlite option "database_path": must be a string`},
		{map[string]any{"database_path": "x", "table_name": "t", "busy_timeout": "x"}, `sqlite option "busy_timeout": interval "x": `},
		{map[string]any{"database_path": "x", "table_name": "t", "busy_timeout": -1.0}, `sqlite option "busy_timeout": interval -1 out of range`},
		{map[string]any{"database_path": "x", "table_name": "t", "pragma_timeout": true}, `sqlite option "pragma_timeout": interval must be`},
		{map[string]any{"database_path": "x", "table_name": "t", "pragma_wait_on_busy": "1parsec"}, `sqlite option "pragma_wait_on_busy": interval "1parsec"`},
		{map[string]any{"database_path": "x", "table_name": "t", "pragma_commands": "journal_mode=wal"}, `sqlite option "pragma_commands": must be an object`},
		{map[string]any{"database_path": "x", "table_name": "t", "pragma_commands": map[string]any{"journal_mode; drop table t": ""}}, `is not an identifier`},
		{map[string]any{"database_path": "x", "table_name": "t", "pragma_commands": map[string]any{"journal_mode": "wal; drop table t"}}, `is not a plain word`},
		{map[string]any{"database_path": "x", "table_name": "t", "pragma_commands": map[string]any{"journal_mode": []any{}}}, `value must be a string or number`},
		{map[string]any{"database_path": "x", "table_name": "t", "pragma_commands": []any{[]any{"a"}}}, `want [name, value]`},
		{map[string]any{"database_path": "x", "table_name": "t", "busy_timeot": "1s"}, `sqlite option "busy_timeot": unknown option`},
	}
	for _, c := range bad {
		_, err := ParseOptions(c.opts)
		var se *storagefw.Error
		if err == nil || !errors.As(err, &se) || se.Code != storagefw.InitializationFailed {
			t.Errorf("ParseOptions(%v) = %v, want an INITIALIZATION_FAILED *storagefw.Error", c.opts, err)
			continue
		}
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("ParseOptions(%v) = %q, want it to contain %q", c.opts, err, c.msg)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	code := func(err error) storagefw.Code {
		var se *storagefw.Error
		if errors.As(err, &se) {
			return se.Code
		}
		return ""
	}
	cases := []struct {
		name string
		opts map[string]any
		code storagefw.Code
		msg  string
	}{
		{"missing sub-record", nil, storagefw.InitializationFailed, "database_path"},
		{"bad option", map[string]any{"database_path": filepath.Join(dir, "a"), "table_name": "t", "busy_timeout": "x"}, storagefw.InitializationFailed, "busy_timeout"},
		{"no such directory", fileOptions(filepath.Join(dir, "nope", "db"), "t"), storagefw.OperationFailed, "SQLite call failed: unable to open database file"}, // Zeek's code and words
		{"failing pragma", map[string]any{"database_path": filepath.Join(dir, "b"), "table_name": "t",
			"pragma_commands": map[string]any{"foreign_key_check": "no_such_table"}}, storagefw.InitializationFailed, "no such table"},
	}
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, bytes.Repeat([]byte("this is not a database "), 400), 0o600); err != nil {
		t.Fatal(err)
	}
	cases = append(cases, struct {
		name string
		opts map[string]any
		code storagefw.Code
		msg  string
	}{"not a database", fileOptions(junk, "t"), storagefw.InitializationFailed, "not a database"})
	for _, c := range cases {
		b, err := Open(ctx, storagefw.OpenConfig{Options: c.opts})
		if err == nil {
			closeT(t, b)
			t.Errorf("%s: Open succeeded", c.name)
			continue
		}
		if code(err) != c.code || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: Open error %q (code %q), want code %s and %q", c.name, err, code(err), c.code, c.msg)
		}
	}
}

func TestPragmaBusyTimeout(t *testing.T) {
	// Another connection holds an exclusive lock on a rollback-journal
	// database, so even reading is busy: Zeek retries a pragma every
	// pragma_wait_on_busy until pragma_timeout, then fails.
	path := filepath.Join(t.TempDir(), "db")
	db := rawDB(t, path)
	ctx := context.Background()
	if _, err := db.Exec("pragma journal_mode=delete; create table x (a)"); err != nil {
		t.Fatal(err)
	}
	lock, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "begin exclusive"); err != nil {
		t.Fatal(err)
	}
	opts := map[string]any{"database_path": path, "table_name": "t", "busy_timeout": "10ms",
		"pragma_timeout": "100ms", "pragma_wait_on_busy": "10ms"}
	start := time.Now()
	_, err = Open(ctx, storagefw.OpenConfig{Options: opts})
	if err == nil || !strings.Contains(err.Error(), "Database was busy while") {
		t.Fatalf("Open under an exclusive lock: %v", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("gave up after %v, before pragma_timeout", d)
	}
	// With pragma_timeout 0 it retries until the lock goes away.
	opts["pragma_timeout"] = 0.0
	release := time.AfterFunc(150*time.Millisecond, func() { lock.ExecContext(ctx, "rollback") })
	defer release.Stop()
	b, err := Open(ctx, storagefw.OpenConfig{Options: opts})
	if err != nil {
		t.Fatalf("Open with pragma_timeout 0: %v", err)
	}
	closeT(t, b)
}

func TestReturnCodes(t *testing.T) {
	// SUCCESS, KEY_NOT_FOUND, KEY_EXISTS and NOT_CONNECTED are covered by the
	// conformance suite; here: TIMEOUT, OPERATION_FAILED, and the codes once
	// more on one backend.
	path := filepath.Join(t.TempDir(), "db")
	clock := storagetest.NewClock(t0)
	opts := fileOptions(path, "codes")
	opts["busy_timeout"] = "20ms"
	b := openT(t, opts, clock.Now, -1)
	defer closeT(t, b)
	k := ser("k")
	want(t, "put", do(t, b, put(k, ser("v"), true, 0, t0)), storagefw.Success, nil)
	want(t, "put exists", do(t, b, put(k, ser("v"), false, 0, t0)), storagefw.KeyExists, nil)
	want(t, "get", do(t, b, get(k, t0)), storagefw.Success, ser("v"))
	want(t, "get missing", do(t, b, get(ser("x"), t0)), storagefw.KeyNotFound, nil)
	want(t, "erase missing", do(t, b, erase(ser("x"), t0)), storagefw.KeyNotFound, nil)

	// An unknown op kind.
	c := storagetest.PutOp(k, ser("v"), true, 0, t0)
	c.Op.Kind = 99
	if r := do(t, b, c); r.Code != storagefw.OperationFailed || !strings.Contains(r.Error, "unsupported operation") {
		t.Errorf("unknown kind: %+v", r)
	}

	// TIMEOUT: another process holds the write lock longer than busy_timeout.
	db := rawDB(t, path)
	ctx := context.Background()
	lock, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "begin immediate"); err != nil {
		t.Fatal(err)
	}
	r := do(t, b, put(k, ser("w"), true, 0, t0))
	if r.Code != storagefw.Timeout || !strings.Contains(r.Error, "database is locked") {
		t.Errorf("put while another connection writes: %+v", r)
	}
	// Reads still work on the readers (WAL), and see the committed value.
	want(t, "get while locked", do(t, b, get(k, t0)), storagefw.Success, ser("v"))
	if _, err := lock.ExecContext(ctx, "rollback"); err != nil {
		t.Fatal(err)
	}
	want(t, "put after the lock", do(t, b, put(k, ser("w"), true, 0, t0)), storagefw.Success, nil)

	// OPERATION_FAILED with SQLite's error text: the table disappears.
	if _, err := db.Exec(`drop table codes`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*storagetest.Call{put(k, ser("v"), true, 0, t0), get(k, t0), erase(k, t0)} {
		r := do(t, b, c)
		if r.Code != storagefw.OperationFailed || !strings.Contains(r.Error, "no such table: codes") {
			t.Errorf("%v without a table: %+v", c.Op.Kind, r)
		}
	}
	if _, err := b.Expire(ctx, t0); err == nil || !strings.Contains(err.Error(), "no such table") {
		t.Errorf("Expire without a table: %v", err)
	}
}

func TestFailedOpInBatch(t *testing.T) {
	// One failing statement in a group-commit batch fails only that op.
	b := openT(t, fileOptions(filepath.Join(t.TempDir(), "db"), "t"), nil, 0)
	defer closeT(t, b)
	bad := storagetest.PutOp(ser("k"), ser("v"), true, 0, t0)
	bad.Op.Kind = 77
	calls := storagetest.Submit(b, put(ser("a"), ser(1), true, 0, t0), bad, put(ser("b"), ser(2), true, 0, t0), get(ser("a"), t0))
	want(t, "put a", calls[0].Wait(t), storagefw.Success, nil)
	want(t, "bad op", calls[1].Wait(t), storagefw.OperationFailed, nil)
	want(t, "put b", calls[2].Wait(t), storagefw.Success, nil)
	want(t, "get a", calls[3].Wait(t), storagefw.Success, ser(1))
}

// zeekSchema is the statement Zeek 8/9 runs (src/storage/backend/sqlite/SQLite.cc).
const zeekSchema = "create table if not exists %s (key_str blob primary key, value_str blob not null, expire_time real);"

func TestZeekRowFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zeek.sqlite")
	db := rawDB(t, path)
	if _, err := db.Exec(fmt.Sprintf(zeekSchema, "zeektable")); err != nil {
		t.Fatal(err)
	}
	// Rows as Zeek writes them: blobs, expire_time 0 for never.
	rows := []struct {
		k, v string
		exp  float64
	}{
		{`JSONv1;"k"`, `JSONv1;"v"`, 0},
		{`JSONv1;1`, `JSONv1;{"a":[1,2]}`, t0 + 100},
		{`JSONv1;"old"`, `JSONv1;"gone"`, t0 - 1},
	}
	for _, r := range rows {
		if _, err := db.Exec("insert into zeektable (key_str, value_str, expire_time) values (?, ?, ?)", []byte(r.k), []byte(r.v), r.exp); err != nil {
			t.Fatal(err)
		}
	}
	clock := storagetest.NewClock(t0)
	b := openT(t, fileOptions(path, "zeektable"), clock.Now, -1)
	want(t, "Zeek row", do(t, b, get([]byte(`JSONv1;"k"`), t0)), storagefw.Success, []byte(`JSONv1;"v"`))
	want(t, "Zeek row with expiry", do(t, b, get([]byte(`JSONv1;1`), t0)), storagefw.Success, []byte(`JSONv1;{"a":[1,2]}`))
	want(t, "expired Zeek row", do(t, b, get([]byte(`JSONv1;"old"`), t0)), storagefw.KeyNotFound, nil)

	// Written by scriptd, read with plain SQL byte for byte, as blobs.
	wk, wv := []byte(`JSONv1;"scriptd-key"`), []byte(`JSONv1;{"s":"\u00e9\n","n":1.5}`)
	want(t, "put", do(t, b, put(wk, wv, true, t0+60, t0)), storagefw.Success, nil)
	want(t, "put never", do(t, b, put([]byte(`JSONv1;"never"`), []byte(`JSONv1;true`), true, 0, t0)), storagefw.Success, nil)
	closeT(t, b) // nothing pending, but Close also proves the file is left consistent
	var gk, gv []byte
	var exp float64
	var tk, tv, te string
	err := db.QueryRow("select key_str, value_str, expire_time, typeof(key_str), typeof(value_str), typeof(expire_time) from zeektable where key_str = ?", wk).
		Scan(&gk, &gv, &exp, &tk, &tv, &te)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gk, wk) || !bytes.Equal(gv, wv) || exp != t0+60 || tk != "blob" || tv != "blob" || te != "real" {
		t.Errorf("row: %q %q %v types %s %s %s", gk, gv, exp, tk, tv, te)
	}
	if err := db.QueryRow(`select expire_time, typeof(expire_time) from zeektable where key_str = cast('JSONv1;"never"' as blob)`).Scan(&exp, &te); err != nil || exp != 0 || te != "real" {
		t.Errorf("never-expiring row: expire_time %v (%s), %v; want 0.0 like Zeek", exp, te, err)
	}
	var n int
	if err := db.QueryRow("select count(*) from zeektable where typeof(key_str) != 'blob' or typeof(value_str) != 'blob'").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d non-blob rows (%v)", n, err)
	}
	// Zeek's expiry bookkeeping row exists.
	if err := db.QueryRow("select count(*) from zeek_storage_expiry_runs where ukey = 'zeektable'").Scan(&n); err != nil || n != 1 {
		t.Errorf("zeek_storage_expiry_runs row: %d, %v", n, err)
	}

	// A table created by scriptd has Zeek's columns exactly.
	b = openT(t, fileOptions(path, "scriptdtable"), nil, -1)
	closeT(t, b)
	info := func(table string) string {
		rows, err := db.Query(fmt.Sprintf("select name, type, \"notnull\", pk from pragma_table_info('%s')", table))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var name, typ string
			var notnull, pk int
			if err := rows.Scan(&name, &typ, &notnull, &pk); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(name, " ", typ, " ", notnull, " ", pk))
		}
		return strings.Join(out, ", ")
	}
	if a, z := info("scriptdtable"), info("zeektable"); a != z {
		t.Errorf("scriptd's table %q differs from Zeek's %q", a, z)
	}
}

func TestQuotedTableName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	for _, name := range []string{`order`, `my table`, `we"ird`, `x; drop table y`} {
		b := openT(t, fileOptions(path, name), nil, -1)
		want(t, name+" put", do(t, b, put(ser(name), ser(1), true, 0, t0)), storagefw.Success, nil)
		want(t, name+" get", do(t, b, get(ser(name), t0)), storagefw.Success, ser(1))
		closeT(t, b)
	}
}

func TestExpireSweep(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	clock := storagetest.NewClock(t0)
	opts := fileOptions(path, "exp")
	o, _ := ParseOptions(opts)
	b, err := open(context.Background(), storagefw.OpenConfig{Options: opts, Clock: clock.Now,
		ExpireInterval: 20 * time.Millisecond, Logger: testLogger(t)}, o, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer closeT(t, b)
	const n = 300
	var calls []*storagetest.Call
	for i := range n {
		exp := 0.0
		if i%3 != 0 {
			exp = t0 + 10 + float64(i%2) // 200 expiring at t0+10 or t0+11
		}
		calls = append(calls, storagetest.Submit(b, put(ser(i), ser(i), true, exp, t0))...)
	}
	for _, c := range calls {
		want(t, "put", c.Wait(t), storagefw.Success, nil)
	}
	db := rawDB(t, path)
	count := func() int {
		var c int
		if err := db.QueryRow("select count(*) from exp").Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := count(); c != n {
		t.Fatalf("%d rows, want %d", c, n)
	}
	// The periodic sweep runs on its own with the clock's time...
	clock.Set(t0 + 10)
	testutil.Eventually(t, storagetest.WaitTimeout, "the periodic sweep to remove the 100 entries expiring at t0+10",
		func() bool { return count() == n-100 })
	// ...and Expire on demand reports what it deleted.
	if got, err := b.Expire(context.Background(), t0+11); err != nil || got > 100 {
		t.Fatalf("Expire(t0+11) = %d, %v", got, err)
	}
	if c := count(); c != n-200 {
		t.Fatalf("%d rows after Expire, want %d", c, n-200)
	}
	if got, err := b.Expire(context.Background(), t0+1e9); err != nil || got != 0 {
		t.Fatalf("Expire with nothing left = %d, %v", got, err)
	}
	var last float64
	if err := db.QueryRow("select last_run from zeek_storage_expiry_runs where ukey = 'exp'").Scan(&last); err != nil || last != t0+1e9 {
		t.Errorf("zeek_storage_expiry_runs.last_run = %v, %v", last, err)
	}
}

func TestExpireExactCount(t *testing.T) {
	b := openT(t, fileOptions(filepath.Join(t.TempDir(), "db"), "t"), nil, -1)
	defer closeT(t, b)
	for i := range 50 {
		want(t, "put", do(t, b, put(ser(i), ser(i), true, t0+1+float64(i), t0)), storagefw.Success, nil)
	}
	for _, c := range []struct {
		now  float64
		want int
	}{{t0, 0}, {t0 + 9, 9}, {t0 + 9, 0}, {t0 + 49, 40}, {t0 + 100, 1}, {t0 + 100, 0}} {
		if got, err := b.Expire(context.Background(), c.now); err != nil || got != c.want {
			t.Errorf("Expire(t0+%v) = %d, %v; want %d", c.now-t0, got, err, c.want)
		}
	}
}

func TestBackendsShareFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.sqlite")
	a := openT(t, fileOptions(path, "a"), nil, -1)
	b := openT(t, fileOptions(path, "b"), nil, -1)
	a2 := openT(t, fileOptions(path, "a"), nil, -1) // a second handle on table a
	defer closeT(t, a)
	defer closeT(t, b)
	defer closeT(t, a2)

	// Concurrent traffic on both tables and both handles of a.
	const n = 1000
	var wg sync.WaitGroup
	for _, h := range []struct {
		b      *Backend
		prefix string
	}{{a, "a"}, {b, "b"}, {a2, "a2"}} {
		wg.Go(func() {
			var calls []*storagetest.Call
			for i := range n {
				k := ser(fmt.Sprintf("%s-%d", h.prefix, i))
				calls = append(calls, storagetest.Submit(h.b, put(k, ser(h.prefix), true, 0, t0), get(k, t0))...)
			}
			for i, c := range calls {
				r := c.Wait(t)
				if r.Code != storagefw.Success || (i%2 == 1 && !bytes.Equal(r.Value, ser(h.prefix))) {
					t.Errorf("%s op %d: %+v", h.prefix, i, r)
				}
			}
		})
	}
	wg.Wait()

	db := rawDB(t, path)
	for table, wantN := range map[string]int{"a": 2 * n, "b": n} {
		var c int
		if err := db.QueryRow("select count(*) from " + table).Scan(&c); err != nil || c != wantN {
			t.Errorf("table %s: %d rows (%v), want %d", table, c, err, wantN)
		}
	}
	// Tables are separate; handles of one table see each other's committed writes.
	want(t, "b does not see a's key", do(t, b, get(ser("a-1"), t0)), storagefw.KeyNotFound, nil)
	want(t, "a2 sees a's key", do(t, a2, get(ser("a-1"), t0)), storagefw.Success, ser("a"))
	want(t, "a sees a2's key", do(t, a, get(ser("a2-1"), t0)), storagefw.Success, ser("a2"))

	// overwrite:false raced across two handles of one table: one winner.
	results := make(chan storagefw.Reply, 400)
	for _, h := range []*Backend{a, a2} {
		wg.Go(func() {
			var calls []*storagetest.Call
			for i := range 200 {
				calls = append(calls, storagetest.Submit(h, put(ser("race"), ser(i), false, 0, t0))...)
			}
			for _, c := range calls {
				results <- c.Wait(t)
			}
		})
	}
	wg.Wait()
	close(results)
	wins := 0
	for r := range results {
		if r.Code == storagefw.Success {
			wins++
		} else if r.Code != storagefw.KeyExists {
			t.Errorf("race: %+v", r)
		}
	}
	if wins != 1 {
		t.Errorf("%d winners across two handles, want 1", wins)
	}
}

func TestSeparateFilesSameTable(t *testing.T) {
	// Each handle has its own statements (Zeek PR #5419: statements shared
	// between handles sent every backend's operations to the first file).
	dir := t.TempDir()
	a := openT(t, fileOptions(filepath.Join(dir, "a.sqlite"), "t"), nil, -1)
	b := openT(t, fileOptions(filepath.Join(dir, "b.sqlite"), "t"), nil, -1)
	m := openT(t, fileOptions(":memory:", "t"), nil, -1)
	defer closeT(t, a)
	defer closeT(t, b)
	defer closeT(t, m)
	want(t, "put a", do(t, a, put(ser("k"), ser("a"), true, 0, t0)), storagefw.Success, nil)
	want(t, "put b", do(t, b, put(ser("k"), ser("b"), true, 0, t0)), storagefw.Success, nil)
	want(t, "get a", do(t, a, get(ser("k"), t0)), storagefw.Success, ser("a"))
	want(t, "get b", do(t, b, get(ser("k"), t0)), storagefw.Success, ser("b"))
	want(t, "get memory", do(t, m, get(ser("k"), t0)), storagefw.KeyNotFound, nil)
	for name, wantV := range map[string]string{"a.sqlite": "a", "b.sqlite": "b"} {
		var v []byte
		if err := rawDB(t, filepath.Join(dir, name)).QueryRow("select value_str from t").Scan(&v); err != nil || !bytes.Equal(v, ser(wantV)) {
			t.Errorf("%s holds %q, %v", name, v, err)
		}
	}
}

func TestCloseDrainsAndLeavesNoGoroutines(t *testing.T) {
	ignore := storagetest.VerifyNoLeaks(t)
	path := filepath.Join(t.TempDir(), "db")
	b := openT(t, fileOptions(path, "t"), nil, -1)
	// The check below must see the backend's goroutines while it is open,
	// or it would prove nothing.
	if goleak.Find(ignore) == nil {
		closeT(t, b)
		t.Fatal("no backend goroutines found while open: the leak check would prove nothing")
	}
	const n = 5000
	var calls []*storagetest.Call
	for i := range n {
		calls = append(calls, storagetest.Submit(b, put(ser(i), ser(i), true, 0, t0), get(ser(i), t0))...)
	}
	exp := make(chan error, 1)
	go func() { _, err := b.Expire(context.Background(), t0); exp <- err }()
	closeT(t, b)
	for i, c := range calls {
		if !c.Done() {
			t.Fatalf("op %d not completed when Close returned", i)
		}
		r := c.Wait(t)
		if r.Code != storagefw.Success {
			t.Fatalf("op %d drained with %+v", i, r)
		}
	}
	if err := <-exp; err != nil && !strings.Contains(err.Error(), "closed") {
		t.Errorf("Expire racing Close: %v", err)
	}
	goleak.VerifyNone(t, ignore) // Close returned: nothing of the backend runs
	if err := b.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	want(t, "after close", do(t, b, get(ser(1), t0)), storagefw.NotConnected, nil)
	// No -wal file left behind: the last connection closed cleanly.
	if _, err := os.Stat(path + "-wal"); !os.IsNotExist(err) {
		t.Errorf("WAL file still present after Close: %v", err)
	}
	// Everything drained was committed.
	var c int
	if err := rawDB(t, path).QueryRow("select count(*) from t").Scan(&c); err != nil || c != n {
		t.Errorf("%d rows after Close, want %d (%v)", c, n, err)
	}
}

func TestCloseContextExpired(t *testing.T) {
	// Checked at the end, once the raw connection holding the lock is
	// closed too: Close waits for the backend's goroutines even when its
	// context has expired.
	storagetest.VerifyNoLeaks(t)
	path := filepath.Join(t.TempDir(), "db")
	opts := fileOptions(path, "t")
	opts["busy_timeout"] = "2s"
	b := openT(t, opts, nil, -1)
	// Block the writer: another connection holds the write lock.
	db := rawDB(t, path)
	ctx := context.Background()
	lock, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "begin immediate"); err != nil {
		t.Fatal(err)
	}
	var calls []*storagetest.Call
	for i := range 100 {
		calls = append(calls, storagetest.Submit(b, put(ser(i), ser(i), true, 0, t0))...)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err = b.Close(cctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with an expired context: %v", err)
	}
	for i, c := range calls {
		if !c.Done() {
			t.Fatalf("op %d not completed when Close returned", i)
		}
		if r := c.Wait(t); r.Code != storagefw.Timeout && r.Code != storagefw.NotConnected {
			t.Errorf("op %d: %+v", i, r)
		}
	}
}

func TestDiskFullInBatch(t *testing.T) {
	// The database fills up in the middle of a group-commit batch: every op
	// must report exactly what happened, whether SQLite rolled back just the
	// statement or the whole transaction.
	path := filepath.Join(t.TempDir(), "db")
	opts := fileOptions(path, "t")
	opts["pragma_commands"] = []any{
		[]any{"journal_mode", "WAL"}, []any{"synchronous", "normal"}, []any{"max_page_count", 40},
	}
	b := openT(t, opts, nil, -1)
	big := ser(strings.Repeat("x", 8000))
	var calls []*storagetest.Call
	for i := range 60 {
		calls = append(calls, put(ser(i), big, true, 0, t0))
	}
	storagetest.Submit(b, calls...)
	ok, full := 0, 0
	succeeded := make([]bool, len(calls))
	for i, c := range calls {
		switch r := c.Wait(t); r.Code {
		case storagefw.Success:
			ok++
			succeeded[i] = true
		case storagefw.OperationFailed:
			if !strings.Contains(r.Error, "full") {
				t.Errorf("put %d: %+v", i, r)
			}
			full++
		default:
			t.Errorf("put %d: %+v", i, r)
		}
	}
	if full == 0 || ok == 0 {
		t.Fatalf("%d stored, %d failed: the test proves nothing", ok, full)
	}
	closeT(t, b)
	db := rawDB(t, path)
	for i := range calls {
		var n int
		if err := db.QueryRow("select count(*) from t where key_str = ?", ser(i)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if (n == 1) != succeeded[i] {
			t.Errorf("put %d: stored=%v, reported success=%v", i, n == 1, succeeded[i])
		}
	}
	t.Logf("%d puts stored, %d failed with a full database", ok, full)
}
