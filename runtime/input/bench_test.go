package input

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// sharedData is the directory of the shared Zeek logs, relative to the
// package directory.
const sharedData = "../../../shared/data/zeek-wrccdc-2018"

// sharedFile returns the path of a shared log, skipping the test when the
// shared data is absent.
func sharedFile(tb testing.TB, name string) string {
	tb.Helper()
	p := filepath.Join(sharedData, name)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("shared data not available: %v", err)
	}
	return p
}

// gunzipFile returns the decompressed contents of a shared log.
func gunzipFile(tb testing.TB, name string) []byte {
	tb.Helper()
	f, err := os.Open(sharedFile(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func BenchmarkParseDNSJSON(b *testing.B) {
	data := gunzipFile(b, "dns.json.gz")
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	p := NewJSONParser()
	b.SetBytes(int64(len(data)) / int64(len(lines)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.ParseRecord(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func benchmarkRead(b *testing.B, name string) {
	data := gunzipFile(b, name)
	dir := b.TempDir()
	path := filepath.Join(dir, "in.log")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	total := 0
	for i := 0; i < b.N; i++ {
		r, err := Open(Spec{Path: path}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		out := make(chan []Event, 4)
		done := make(chan error, 1)
		go func() { done <- r.Run(context.Background(), out); close(out) }()
		for batch := range out {
			total += len(batch)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		if r.Stats().Skipped != 0 {
			b.Fatalf("skipped %d", r.Stats().Skipped)
		}
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(total), "ns/record")
}

func BenchmarkReadDNSJSON(b *testing.B) { benchmarkRead(b, "dns.json.gz") }
func BenchmarkReadDNSTSV(b *testing.B)  { benchmarkRead(b, "dns.log.gz") }
