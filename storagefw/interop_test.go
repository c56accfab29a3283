package storagefw_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/sqlite"
)

// zeekRow is one line of testdata/zeek/rows.tsv: a key and a value as Zeek
// stores them.
type zeekRow struct {
	name             string
	keyType, valType any
	keyStr, valueStr []byte
}

func readZeekRows(t *testing.T) []zeekRow {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "zeek", "rows.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []zeekRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		col := strings.Split(line, "\t")
		if len(col) != 5 {
			t.Fatalf("rows.tsv: %d columns in %q", len(col), line)
		}
		rows = append(rows, zeekRow{
			name: col[0], keyType: orderedType(t, col[1]), valType: orderedType(t, col[2]),
			keyStr: []byte(col[3]), valueStr: []byte(col[4]),
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// orderedType reads a type written as JSON, record shapes as
// storagefw.Record in the order written (as a script's object literal).
func orderedType(t *testing.T, text string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(text))
	var read func() any
	read = func() any {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("type %s: %v", text, err)
		}
		switch tok {
		case json.Delim('{'):
			var r storagefw.Record
			for dec.More() {
				name, _ := dec.Token()
				r = append(r, storagefw.Field{Name: name.(string), Value: read()})
			}
			dec.Token()
			return r
		case json.Delim('['):
			var list []any
			for dec.More() {
				list = append(list, read())
			}
			dec.Token()
			return list
		}
		return tok
	}
	return read()
}

// zeekRowValues are, for each row, the key and value a script (or Go
// caller) gives for the values Zeek stored, and what get returns for
// Zeek's value (nil: the canonical form of the value put).
type zeekRowValues struct {
	key, val any
	got      any
	// noRewrite: what Zeek reads back does not serialize to the same
	// bytes (table[string] keys with characters JSON escapes: Zeek does
	// not undo its second escaping on read).
	noRewrite bool
}

// Variables, so that 0.1 + 0.2 is a float64 sum (0.30000000000000004),
// not an exact constant.
var pointOne, pointTwo = 0.1, 0.2

var compoundKey = map[string]any{
	"hello": "hello", "t": true, "f": false, "n": int64(1234), "m": int64(5678), "def": int64(123),
	"i": int64(-2345), "pi": 345.0, "a": []any{"a", "b", "c"}, "c1": "Red", "p": "1234/tcp",
	"ti": 1700000000.123456, "it": int64(15), "ad": "1.2.3.4", "s": "255.255.255.0/24",
	"re": "/^?(.*)$?/", "su": []any{"255.255.255.7/24"},
}

var zeekRowCases = map[string]zeekRowValues{
	"string":          {key: "hello", val: `a"b\c`},
	"string_escaped":  {key: "x\x00y", val: "é\xff", got: `\xc3\xa9\xff`},
	"string_utf8":     {key: "café", val: "a\nb\x01", got: "a\nb\\x01"},
	"count":           {key: int64(0), val: uint64(math.MaxUint64)},
	"int":             {key: int64(-2345), val: int64(math.MinInt64)},
	"double":          {key: int64(345), val: 1e23},
	"double_2":        {key: math.Copysign(0, -1), val: pointOne + pointTwo},
	"double_3":        {key: 1e21, val: 0.000649},
	"double_4":        {key: 1e-7, val: 1.234567e-6},
	"bool":            {key: true, val: false},
	"addr":            {key: "::ffff:1.2.3.4", val: "2001:DB8:0:0:1:0:0:1"},
	"addr_2":          {key: "::1.2.3.4", val: "1:0:0:2:0:0:0:3"},
	"subnet":          {key: "192.0.0.0/8", val: "[fe80::]/64"},
	"subnet_2":        {key: "10.0.0.1/24", val: "ffff:1234::1/128"},
	"time":            {key: 1681652265.042767, val: 1480788576.868945},
	"interval":        {key: int64(15), val: 90061.5},
	"interval_2":      {key: int64(-12 * 3600), val: 1.0 / 3, got: zeekIntervalSum(333.0, 1e-3, 333.333333, 1e-6)},
	"interval_3":      {key: 0.0, val: 0.25},
	"port":            {key: "80/tcp", val: "0/unknown"},
	"enum":            {key: "Storage::SUCCESS", val: "Red"},
	"record":          {key: map[string]any{"c": int64(100), "s": "test"}, val: map[string]any{"s": "test"}},
	"record_compound": {key: compoundKey, val: [][2]any{{int64(2), "b"}, {int64(1), "a"}, {int64(3), "c"}}},
	"record_nested":   {key: "r", val: map[string]any{"m": map[string]any{"c": int64(15), "s": "test"}}},
	"vector":          {key: []any{int64(1), int64(2)}, val: []any{[]any{false, true, false}}},
	"set":             {key: []any{int64(2), int64(1), int64(2)}, val: []any{"255.255.255.0/24"}},
	"table":           {key: [][2]any{{int64(2), "10.2.2.2"}, {int64(1), "10.1.1.1"}}, val: [][2]any{{"10.1.1.1", map[string]any{"a": int64(1)}}, {"10.2.2.2", map[string]any{"b": int64(2)}}}},
	"table_keys":      {key: [][2]any{{"80/tcp", int64(1)}}, val: [][2]any{{int64(15), "1.2.3.4"}}},
	"table_strings": {
		key: [][2]any{{"10.1.1.1", []any{int64(1), int64(2)}}, {"10.2.2.2", []any{int64(3), int64(5)}}},
		val: [][2]any{{`a"b`, true}, {"l\nm", false}},
		got: storagefw.Table{{Key: `a\"b`, Value: true}, {Key: `l\nm`, Value: false}}, noRewrite: true,
	},
}

// zeekIntervalSum adds number × unit pairs at run time, as Zeek reads
// interval text (a constant expression would be computed exactly).
func zeekIntervalSum(pairs ...float64) storagefw.Interval {
	secs := 0.0
	for i := 0; i < len(pairs); i += 2 {
		secs += pairs[i] * pairs[i+1]
	}
	return storagefw.Interval(secs)
}

// canonical values of the rows' values (what a get returns).
var zeekRowCanonical = map[string]any{
	"string":          `a"b\c`,
	"count":           uint64(math.MaxUint64),
	"int":             int64(math.MinInt64),
	"double":          1e23,
	"double_2":        pointOne + pointTwo,
	"double_3":        0.000649,
	"double_4":        1.234567e-6,
	"bool":            false,
	"addr":            "2001:db8::1:0:0:1",
	"addr_2":          "1:0:0:2::3",
	"subnet":          "fe80::/64",
	"subnet_2":        "ffff:1234::1/128",
	"time":            1480788576.868945,
	"interval":        storagefw.Interval(90061.5),
	"interval_3":      storagefw.Interval(0.25),
	"port":            storagefw.Port{Number: 0, Proto: "unknown"},
	"enum":            "Red",
	"record":          storagefw.Record{{Name: "s", Value: "test"}},
	"record_compound": storagefw.Table{{Key: int64(2), Value: "b"}, {Key: int64(1), Value: "a"}, {Key: int64(3), Value: "c"}},
	"record_nested":   storagefw.Record{{Name: "m", Value: storagefw.Record{{Name: "c", Value: int64(15)}, {Name: "s", Value: "test"}}}},
	"vector":          []any{[]any{false, true}},
	"set":             []any{"255.255.255.0/24"},
	"table": storagefw.Table{
		{Key: "10.1.1.1", Value: storagefw.Table{{Key: "a", Value: int64(1)}}},
		{Key: "10.2.2.2", Value: storagefw.Table{{Key: "b", Value: int64(2)}}},
	},
	"table_keys": storagefw.Table{{Key: storagefw.Interval(15), Value: "1.2.3.4"}},
}

// TestZeekRowsThroughSQLite checks interoperability with Zeek through a
// real SQLite file: rows as Zeek writes them are found by the keys a
// script gives (the key serializes to Zeek's bytes), read back as the
// values Zeek stored, and serialize again to the same bytes; and the same
// keys and values put by scriptd are stored byte for byte as Zeek stores
// them.
func TestZeekRowsThroughSQLite(t *testing.T) {
	ctx := context.Background()
	rows := readZeekRows(t)
	if len(rows) != len(zeekRowCases) {
		t.Errorf("rows.tsv has %d rows, the test knows %d", len(rows), len(zeekRowCases))
	}
	fw := storagefw.New(storagefw.Config{Backends: []storagefw.BackendType{sqlite.Type()}})
	dir := t.TempDir()
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			c, ok := zeekRowCases[row.name]
			if !ok {
				t.Fatalf("no values for row %q", row.name)
			}
			path := filepath.Join(dir, row.name+".db")
			open := func(table string) *storagefw.Handle {
				h, res := fw.Open(ctx, storagefw.OpenRequest{
					Backend: "SQLITE", KeyType: row.keyType, ValType: row.valType,
					Options: map[string]any{"sqlite": map[string]any{"database_path": path, "table_name": table}},
				})
				if res.Code != storagefw.Success {
					t.Fatalf("open %s: %+v", table, res)
				}
				t.Cleanup(func() { h.Close(ctx) })
				return h
			}
			zeek, ours := open("zeek"), open("ours")
			db, err := sql.Open("sqlite3", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`insert into zeek (key_str, value_str, expire_time) values (?, ?, 0)`, row.keyStr, row.valueStr); err != nil {
				t.Fatal(err)
			}

			// Zeek's row, found by the script's key, read as Zeek stored it.
			got := zeek.Get(ctx, c.key)
			if got.Code != storagefw.Success {
				t.Fatalf("get Zeek's row: %s %s", got.Code, got.Error)
			}
			want := c.got
			if want == nil {
				want = zeekRowCanonical[row.name]
			}
			if want != nil && !reflect.DeepEqual(got.Value, want) {
				t.Errorf("get Zeek's row = %#v, want %#v", got.Value, want)
			}
			again, err := storagefw.JSONSerializer{}.Serialize(got.Value)
			if err != nil {
				t.Fatalf("serialize what was read: %v", err)
			}
			if !c.noRewrite && !bytes.Equal(again, row.valueStr) {
				t.Errorf("what was read serializes to %s, Zeek stored %s", again, row.valueStr)
			}

			// The same key and value put by scriptd: Zeek's bytes.
			if res := ours.Put(ctx, c.key, c.val, storagefw.PutArgs{Overwrite: true}); res.Code != storagefw.Success {
				t.Fatalf("put: %s %s", res.Code, res.Error)
			}
			var k, v []byte
			if err := db.QueryRow(`select key_str, value_str from ours`).Scan(&k, &v); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(k, row.keyStr) {
				t.Errorf("scriptd stored key %s, Zeek %s", k, row.keyStr)
			}
			if !bytes.Equal(v, row.valueStr) {
				t.Errorf("scriptd stored value %s, Zeek %s", v, row.valueStr)
			}
			// And reads its own row as it reads Zeek's.
			if own := ours.Get(ctx, c.key); own.Code != storagefw.Success || !reflect.DeepEqual(own.Value, got.Value) && !c.noRewrite {
				t.Errorf("get own row = %s %#v, Zeek's row gave %#v", own.Code, own.Value, got.Value)
			}
		})
	}
}
