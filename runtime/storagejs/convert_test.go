package storagejs_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"
)

// TestZeekTypesFromScripts puts and gets every Zeek type from a script:
// what lands in the SQLite file is Zeek's bytes (records in the declared
// order of the script's shape, optional fields absent), and what comes
// back is records with fields in declared order, Maps for tables, ports
// as "80/tcp", intervals and times as seconds.
func TestZeekTypesFromScripts(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "z.db")
	out, errs := run(t, strings.ReplaceAll(`
		on("init", async () => {
			const keyType = {zone: "string", id: "count", port: "port", seen: "time?", every: "interval", tags: ["set", "string"]};
			const valType = {z: "enum", a: "addr?", hits: ["table", "addr", "count"], nets: ["vector", "subnet"], note: "string?"};
			const h = (await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE,
				{ sqlite: { database_path: "DIR/z.db", table_name: "t" } }, keyType, valType)).value;
			const key = {tags: ["b", "a", "b"], every: 5400, port: "53/udp", id: 7, zone: "dmz"};
			const hits = new Map([["10.0.0.2", 2], ["::ffff:10.0.0.1", 1]]);
			const value = {note: undefined, nets: ["10.1.2.3/8"], hits, z: "Notice::SUSPICIOUS", a: "2001:DB8::1"};
			let r = await Storage.Async.put(h, {key, value});
			print("put", r.code, r.error_str || "");
			r = await Storage.Async.get(h, {zone: "dmz", id: 7, port: "53/udp", every: "1.0 hr 30.0 mins", tags: ["b", "a"]});
			print("get", r.code, r.error_str || "");
			const v = r.value;
			print(Object.keys(v).join(","));
			print(v.hits instanceof Map, JSON.stringify([...v.hits]));
			print(JSON.stringify(v));
			print("note" in v);
			r = await Storage.Async.put(h, {key, value: {z: "x", hits: new Map(), nets: []}});
			print(JSON.stringify((await Storage.Async.get(h, key)).value));
			r = await Storage.Async.put(h, {key: {zone: "x", id: 1, port: "80/tcp", every: 1, tags: [], seen: 1700000000.5}, value: {z: "x", hits: {"10.0.0.9": 9}, nets: []}});
			print("put2", r.code);
			r = await Storage.Async.put(h, {key: {zone: "x", id: 1, port: "80/tcq", every: 1, tags: []}, value: {z: "x", hits: new Map(), nets: []}});
			print("bad port", r.code);
			r = await Storage.Async.put(h, {key, value: {z: "x", hits: new Map([["nope", 1]]), nets: []}});
			print("bad table key", r.code);

			const h2 = (await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE,
				{ sqlite: { database_path: "DIR/z.db", table_name: "u" } }, "port", ["table", "port", "interval"])).value;
			await Storage.Async.put(h2, {key: "80/tcp", value: new Map([["443/tcp", 0.25]])});
			const g = (await Storage.Async.get(h2, "80/tcp")).value;
			print(JSON.stringify([...g]), typeof [...g][0][1]);
		});
	`, "DIR/z.db", dbPath))
	if errs != "" {
		t.Logf("stderr: %s", errs)
	}
	want := strings.Join([]string{
		"put SUCCESS ",
		"get SUCCESS ",
		"z,a,hits,nets",
		`true [["10.0.0.2",2],["10.0.0.1",1]]`,
		`{"z":"Notice::SUSPICIOUS","a":"2001:db8::1","hits":{},"nets":["10.0.0.0/8"]}`,
		"false",
		`{"z":"x","hits":{},"nets":[]}`,
		"put2 SUCCESS",
		"bad port KEY_TYPE_MISMATCH",
		"bad table key VAL_TYPE_MISMATCH",
		`[["443/tcp",0.25]] number`,
	}, "\n")
	if out != want {
		t.Errorf("script printed:\n%s\nwant:\n%s", out, want)
	}

	db, err := sql.Open("sqlite3", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want = strings.Join([]string{
		`t JSONv1;{"zone":"dmz","id":7,"port":{"port":53,"proto":"udp"},"every":"1.0 hr 30.0 mins","tags":["b","a"]} JSONv1;{"z":"x","hits":{},"nets":[]}`,
		`t JSONv1;{"zone":"x","id":1,"port":{"port":80,"proto":"tcp"},"seen":1700000000.5,"every":"1.0 sec","tags":[]} JSONv1;{"z":"x","hits":{"10.0.0.9":9},"nets":[]}`,
		`u JSONv1;{"port":80,"proto":"tcp"} JSONv1;{"{\"port\":443,\"proto\":\"tcp\"}":"250.0 msecs"}`,
	}, "\n")
	rows, err := db.Query(`select 't', key_str, value_str from t union all select 'u', key_str, value_str from u`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var table string
		var k, v []byte
		if err := rows.Scan(&table, &k, &v); err != nil {
			t.Fatal(err)
		}
		got = append(got, table+" "+string(k)+" "+string(v))
	}
	if strings.Join(got, "\n") != want {
		t.Errorf("stored rows:\n%s\nwant (Zeek's bytes):\n%s", strings.Join(got, "\n"), want)
	}
}
