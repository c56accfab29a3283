package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/scriptd/scriptd/storagefw"
)

// Benchmarks: a file database in b.TempDir() with Zeek's default pragmas
// (WAL, synchronous=normal, temp_store=memory). The Backend benchmarks push
// ops through Submit with N in flight (a semaphore of N slots; each
// completion frees one); the Raw baselines use database/sql + go-sqlite3
// directly on one connection.

// benchKey and benchValue build serialized keys and a ~60-byte value the way
// the framework would, cheaply.
func benchKey(buf []byte, i int) []byte {
	buf = append(buf[:0], `JSONv1;"key-`...)
	buf = strconv.AppendInt(buf, int64(i), 10)
	return append(buf, '"')
}

var benchValue = []byte(`JSONv1;{"host":"192.168.1.1","count":42,"seen":1700000000.5}`)

func benchBackend(b *testing.B, path string) *Backend {
	b.Helper()
	opts := fileOptions(path, "bench")
	o, err := ParseOptions(opts)
	if err != nil {
		b.Fatal(err)
	}
	be, err := open(context.Background(), storagefw.OpenConfig{Options: opts}, o, defaultReaders())
	if err != nil {
		b.Fatal(err)
	}
	return be
}

func reportOps(b *testing.B, start time.Time) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
}

// runInflight submits b.N ops built by mk with at most n in flight and
// waits for all of them.
func runInflight(b *testing.B, be *Backend, n int, mk func(i int, done func(storagefw.Reply)) *storagefw.Request) {
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	wg.Add(b.N)
	var failed sync.Once
	done := func(r storagefw.Reply) {
		if r.Code != storagefw.Success {
			failed.Do(func() { b.Errorf("op failed: %s %s", r.Code, r.Error) })
		}
		<-sem
		wg.Done()
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		sem <- struct{}{}
		be.Submit(mk(i, done))
	}
	wg.Wait()
	reportOps(b, start)
}

var inflights = []int{1, 100, 1000}

func BenchmarkPut(b *testing.B) {
	for _, n := range inflights {
		b.Run(fmt.Sprintf("inflight=%d", n), func(b *testing.B) {
			be := benchBackend(b, filepath.Join(b.TempDir(), "db"))
			defer be.Close(context.Background())
			runInflight(b, be, n, func(i int, done func(storagefw.Reply)) *storagefw.Request {
				op := storagefw.NewRequest(storagefw.PutRequest, done)
				op.Key, op.Value, op.Overwrite = benchKey(nil, i), benchValue, true
				return op
			})
		})
	}
}

const prefill = 100_000

func prefillBackend(b *testing.B, be *Backend) {
	b.Helper()
	var wg sync.WaitGroup
	wg.Add(prefill)
	for i := range prefill {
		op := storagefw.NewRequest(storagefw.PutRequest, func(storagefw.Reply) { wg.Done() })
		op.Key, op.Value, op.Overwrite = benchKey(nil, i), benchValue, true
		be.Submit(op)
	}
	wg.Wait()
}

func BenchmarkGet(b *testing.B) {
	for _, n := range inflights {
		b.Run(fmt.Sprintf("inflight=%d", n), func(b *testing.B) {
			be := benchBackend(b, filepath.Join(b.TempDir(), "db"))
			defer be.Close(context.Background())
			prefillBackend(b, be)
			runInflight(b, be, n, func(i int, done func(storagefw.Reply)) *storagefw.Request {
				op := storagefw.NewRequest(storagefw.GetRequest, done)
				op.Key = benchKey(nil, (i*7919)%prefill)
				return op
			})
		})
	}
}

// rawBenchDB opens a database/sql handle with the same pragmas as the
// backend's defaults and Zeek's table.
func rawBenchDB(b *testing.B) *sql.DB {
	b.Helper()
	path := filepath.Join(b.TempDir(), "raw.sqlite")
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { db.Close() })
	for _, q := range []string{"pragma temp_store = memory", fmt.Sprintf(zeekSchema, "bench")} {
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

const rawPut = "insert or replace into bench (key_str, value_str, expire_time) values (?, ?, 0)"

func BenchmarkRawAutocommitPut(b *testing.B) {
	db := rawBenchDB(b)
	stmt, err := db.Prepare(rawPut)
	if err != nil {
		b.Fatal(err)
	}
	defer stmt.Close()
	var key []byte
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		key = benchKey(key, i)
		if _, err := stmt.Exec(key, benchValue); err != nil {
			b.Fatal(err)
		}
	}
	reportOps(b, start)
}

func BenchmarkRawTxPut1000(b *testing.B) {
	db := rawBenchDB(b)
	var key []byte
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		stmt, err := tx.Prepare(rawPut)
		if err != nil {
			b.Fatal(err)
		}
		for j := 0; j < 1000 && i < b.N; j, i = j+1, i+1 {
			key = benchKey(key, i)
			if _, err := stmt.Exec(key, benchValue); err != nil {
				b.Fatal(err)
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	reportOps(b, start)
}

func BenchmarkRawGet(b *testing.B) {
	db := rawBenchDB(b)
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	for i := range prefill {
		if _, err := tx.Exec(rawPut, benchKey(nil, i), benchValue); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	stmt, err := db.Prepare("select value_str from bench where key_str = ?")
	if err != nil {
		b.Fatal(err)
	}
	defer stmt.Close()
	var key, val []byte
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		key = benchKey(key, (i*7919)%prefill)
		if err := stmt.QueryRow(key).Scan(&val); err != nil {
			b.Fatal(err)
		}
	}
	reportOps(b, start)
}
