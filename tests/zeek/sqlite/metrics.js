// Port of testing/btest/scripts/base/frameworks/storage/sqlite/metrics.zeek
// Telemetry: the Go test runs this with --listen. Where Zeek prints
// Telemetry::collect_metrics("zeek", "storage*"), this script prints the
// line "@@METRICS@@"; the test then scrapes GET /metrics, puts the storage
// metrics in that place in Zeek's format, and fires "metrics_scraped",
// which stands for the rest of Zeek's print_metrics_and_close; "@@END@@"
// tells it the script is done (the test then stops scriptd, as --listen
// keeps it running).
const Z = require("../lib/zeekfmt");

let b;

on("print_metrics_and_close", () => {
  print("");
  print("Post-operation metrics:");
  print("@@METRICS@@");
});

on("metrics_scraped", () => {
  Storage.Sync.close_backend(b);
  print("@@END@@"); // the end of the script's work
});

on("init", () => {
  const opts = { sqlite: { database_path: "test.sqlite", table_name: "testing" } };

  const key = "key1234";
  const value = "value5678";

  let res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_SQLITE, opts, "string", "string");
  Z.print("open result", Z.result(res));
  b = res.value;

  res = Storage.Sync.put(b, { key, value });
  Z.print("put result", Z.result(res));

  res = Storage.Sync.get(b, key);
  Z.print("get result 1", Z.result(res));

  res = Storage.Sync.erase(b, key);
  Z.print("erase result", Z.result(res));

  const res2 = Storage.Sync.get(b, key);
  Z.print("get result 2", Z.result(res2));

  // Zeek: schedule 100 msecs { print_metrics_and_close() }; with no trace,
  // network time is the wall clock, so a 100 ms timer is the same thing.
  setTimeout(() => emit("print_metrics_and_close"), 100);
});
