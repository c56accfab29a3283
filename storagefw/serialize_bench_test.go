package storagefw

import (
	"testing"
)

// The benchmarks below measure the framework's own per-operation work
// (type check + serialization on the way in, unserialization + type check
// on the way out), with no backend: the paths prepareKey, PutAsync and
// decode run for every operation.

func benchEncode(b *testing.B, typ, v any) {
	t, err := parseType(typ)
	if err != nil {
		b.Fatal(err)
	}
	s := JSONSerializer{}
	b.ReportAllocs()
	for b.Loop() {
		nv, err := t.Normalize(v)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Serialize(nv); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDecode(b *testing.B, typ, v any) {
	t, err := parseType(typ)
	if err != nil {
		b.Fatal(err)
	}
	s := JSONSerializer{}
	nv, err := t.Normalize(v)
	if err != nil {
		b.Fatal(err)
	}
	data, err := s.Serialize(nv)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		u, err := s.Unserialize(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := t.Normalize(u); err != nil {
			b.Fatal(err)
		}
	}
}

var benchRecordType = map[string]any{"host": "addr", "count": "count", "seen": "double", "tags": []any{"vector", "string"}}

func benchRecord() map[string]any {
	return map[string]any{"host": "192.168.1.1", "count": int64(42), "seen": 1700000000.5, "tags": []any{"a", "bb"}}
}

func BenchmarkEncodeString(b *testing.B) { benchEncode(b, "string", "key-12345") }
func BenchmarkEncodeCount(b *testing.B)  { benchEncode(b, "count", int64(123456)) }
func BenchmarkEncodeDouble(b *testing.B) { benchEncode(b, "double", 1681652265.042767) }
func BenchmarkEncodeAddr(b *testing.B)   { benchEncode(b, "addr", "2001:db8::1") }
func BenchmarkEncodeRecord(b *testing.B) { benchEncode(b, benchRecordType, benchRecord()) }
func BenchmarkDecodeString(b *testing.B) { benchDecode(b, "string", "value-12345") }
func BenchmarkDecodeCount(b *testing.B)  { benchDecode(b, "count", int64(123456)) }
func BenchmarkDecodeDouble(b *testing.B) { benchDecode(b, "double", 1681652265.042767) }
func BenchmarkDecodeRecord(b *testing.B) { benchDecode(b, benchRecordType, benchRecord()) }
