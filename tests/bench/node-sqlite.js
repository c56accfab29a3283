// Peer for scriptd's SQLite rows (P2, P3, P7): Node.js with better-sqlite3
// doing the same work on the same table as scriptd's SQLite backend —
// Zeek's layout (key_str blob primary key, value_str blob, expire_time
// real), Zeek's default pragmas, the backend's upsert and select, keys
// "k<i>" and values "value-<i>" serialized as Zeek's JSONv1 blobs — timed
// from the first statement to the last.
//
// Usage: node node-sqlite.js put|tx|get N DB   (prints: rate R)
//   put  N autocommit upserts (one implicit transaction each)
//   tx   N upserts in transactions of 1,000 rows
//   get  N selects of 1,000 prefilled keys, each value decoded
// The directory holding node_modules/better-sqlite3 is in BETTER_SQLITE3_DIR.
"use strict";
const path = require("path");
const Database = require(path.join(process.env.BETTER_SQLITE3_DIR, "node_modules", "better-sqlite3"));

const [mode, nArg, file] = process.argv.slice(2);
const N = Number(nArg);
const db = new Database(file);
for (const p of ["quick_check", "journal_mode = WAL", "synchronous = normal", "temp_store = memory"]) db.pragma(p);
db.exec("create table if not exists bench (key_str blob primary key, value_str blob not null, expire_time real)");
const put = db.prepare("insert into bench (key_str, value_str, expire_time) values (?, ?, ?) " +
  "on conflict(key_str) do update set value_str = excluded.value_str, expire_time = excluded.expire_time");
const get = db.prepare("select value_str, expire_time from bench where key_str = ?");

// Zeek's JSON serializer writes a plain ASCII string as JSON.stringify does.
const ser = (v) => Buffer.from("JSONv1;" + JSON.stringify(v));
const de = (b) => {
  if (b.toString("latin1", 0, 7) !== "JSONv1;") throw new Error("not JSONv1");
  return JSON.parse(b.toString("utf8", 7));
};

let t0;
if (mode === "put") {
  t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) put.run(ser("k" + i), ser("value-" + i), 0);
} else if (mode === "tx") {
  const batch = db.transaction((base, end) => {
    for (let i = base; i < end; i++) put.run(ser("k" + i), ser("value-" + i), 0);
  });
  t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i += 1000) batch(i, Math.min(i + 1000, N));
} else if (mode === "get") {
  db.transaction(() => { for (let i = 0; i < 1000; i++) put.run(ser("k" + i), ser("value-" + i), 0); })();
  t0 = process.hrtime.bigint();
  const now = Date.now() / 1000;
  let bad = 0;
  for (let i = 0; i < N; i++) {
    const row = get.get(ser("k" + (i % 1000)));
    if (!row || (row.expire_time > 0 && row.expire_time <= now) || de(row.value_str) !== "value-" + (i % 1000)) bad++;
  }
  if (bad > 0) throw new Error(bad + " gets failed");
} else {
  throw new Error("mode must be put, tx or get");
}
const s = Number(process.hrtime.bigint() - t0) / 1e9;
db.close();
console.log(`rate ${N / s}`);
