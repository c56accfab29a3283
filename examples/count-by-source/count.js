// Counting DNS queries per source address: issue 13's lost-update example,
// fixed. Handlers overlap at every await (as Zeek's `when` bodies do), so
// a get followed by put(count + 1) loses updates; increment and update do
// not. METHOD selects the way: "increment" (default), "update", or "naive"
// (the broken get + put, for comparison). On done, counts.log gets one
// line per source, listed with Storage.Async.entries.
const S = Storage, A = S.Async;
const METHOD = process.env.METHOD || "increment";
let db;

on("init", async () => {
  const r = await A.open_backend(S.STORAGE_BACKEND_SQLITE,
    { sqlite: { database_path: process.env.DB || "counts.sqlite", table_name: "per_source" } }, "string", "count");
  if (r.code !== S.SUCCESS) throw new Error(r.error_str);
  db = r.value;
});

on("dns", async (rec) => {
  const src = rec["id.orig_h"];
  switch (METHOD) {
    case "increment":                       // one atomic backend step
      await A.increment(db, { key: src });
      break;
    case "update":                          // optimistic read-modify-write, retried on conflict
      await A.update(db, src, (n) => (n === undefined ? 0 : n) + 1);
      break;
    default: {                              // loses updates: another handler runs between get and put
      const g = await A.get(db, src);
      await A.put(db, { key: src, value: (g.code === S.SUCCESS ? g.value : 0) + 1 });
    }
  }
});

on("done", async () => {
  const it = A.entries(db, {})[Symbol.asyncIterator]();
  for (let x = await it.next(); !x.done; x = await it.next()) {
    Log.write("counts", { src: x.value.key, n: x.value.value });
  }
});
