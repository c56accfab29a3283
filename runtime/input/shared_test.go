package input

import (
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// Tests on the shared Zeek logs of WRCCDC 2018 (skipped when absent).

func TestSharedDNSTSV(t *testing.T) {
	path := sharedFile(t, "dns.log.gz")
	var bad badLog
	evs, r := readAll(t, Spec{Path: path}, Options{OnBadRecord: bad.add})
	if b := bad.get(); len(b) != 0 {
		t.Fatalf("%d bad records, first %v", len(b), b[0])
	}
	if len(evs) != 53615 {
		t.Fatalf("%d records, want 53615", len(evs))
	}
	first := evs[0]
	if first.Name != "dns" || first.Line != 9 || first.TS != 1521911720.865716 {
		t.Errorf("first event %+v", first)
	}
	if v, _ := first.Record.Get("id.resp_p"); v != 53.0 {
		t.Errorf("id.resp_p = %#v, want 53", v)
	}
	if v, _ := first.Record.Get("answers"); !reflect.DeepEqual(v, []any{"ise.wrccdc.cpp.edu", "134.71.3.16"}) {
		t.Errorf("answers = %#v", v)
	}
	if v, _ := first.Record.Get("TTLs"); !reflect.DeepEqual(v, []any{2230.0, 41830.0}) {
		t.Errorf("TTLs = %#v", v)
	}
	if v, _ := first.Record.Get("AA"); v != false {
		t.Errorf("AA = %#v", v)
	}
	last := evs[len(evs)-1]
	for _, absent := range []string{"rtt", "rcode", "answers", "TTLs"} {
		if _, ok := last.Record.Get(absent); ok {
			t.Errorf("last record has unset field %s", absent)
		}
	}
	if s := r.Stats(); s.Records != 53615 || s.BytesRead != s.Size || s.Size == 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestSharedDNSJSONvsTSV reads the JSON and TSV versions of the same log
// and compares them.
func TestSharedDNSJSONvsTSV(t *testing.T) {
	tsv, _ := readAll(t, Spec{Path: sharedFile(t, "dns.log.gz")}, Options{})
	js, _ := readAll(t, Spec{Path: sharedFile(t, "dns.json.gz")}, Options{})
	if len(js) != len(tsv) {
		t.Fatalf("json %d records, tsv %d", len(js), len(tsv))
	}
	if js[0].TS != tsv[0].TS || js[0].TS != 1521911720.865716 {
		t.Errorf("first ts: json %v, tsv %v", js[0].TS, tsv[0].TS)
	}
	for i := 0; i < len(js); i += 997 {
		j, k := js[i], tsv[i]
		if j.Name != "dns" || k.Name != "dns" {
			t.Fatalf("record %d names %q %q", i, j.Name, k.Name)
		}
		if j.TS != k.TS {
			t.Errorf("record %d ts: json %v, tsv %v", i, j.TS, k.TS)
		}
		var jn []string
		for _, f := range j.Record.Fields {
			if f.Name != "_path" && f.Name != "_write_ts" {
				jn = append(jn, f.Name)
			}
		}
		kn := names(k.Record)
		if !reflect.DeepEqual(jn, kn) {
			t.Fatalf("record %d fields:\njson %v\n tsv %v", i, jn, kn)
		}
		for _, f := range k.Record.Fields {
			if f.Name == "ts" || f.Name == "rtt" || f.Name == "TTLs" {
				continue // printed with different precision
			}
			jv, _ := j.Record.Get(f.Name)
			if !reflect.DeepEqual(jv, f.Value) {
				t.Errorf("record %d field %s: json %#v, tsv %#v", i, f.Name, jv, f.Value)
			}
		}
	}
}

// TestSharedAllLogs reads every other shared log without a bad record.
func TestSharedAllLogs(t *testing.T) {
	dir := filepath.Dir(sharedFile(t, "dns.json.gz"))
	files, err := filepath.Glob(filepath.Join(dir, "*.gz"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	for _, f := range files {
		if b := filepath.Base(f); b == "dns.json.gz" || b == "dns.log.gz" {
			continue // read by the tests above
		}
		var bad badLog
		evs, _ := readAll(t, Spec{Path: f}, Options{OnBadRecord: bad.add})
		if b := bad.get(); len(b) != 0 {
			t.Errorf("%s: %d bad records, first %+v", f, len(b), b[0])
		}
		if len(evs) == 0 {
			t.Errorf("%s: no records", f)
		}
		for _, e := range evs[:1] {
			if e.TS < 1.5e9 {
				t.Errorf("%s: ts %v", f, e.TS)
			}
		}
		t.Logf("%s: %d records, event %s", filepath.Base(f), len(evs), evs[0].Name)
	}
}
