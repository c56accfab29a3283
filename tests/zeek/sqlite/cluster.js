// Port of testing/btest/scripts/base/frameworks/storage/sqlite/cluster.zeek
// The cluster becomes two scriptd processes (worker-1 and worker-2, named
// by the environment variable CLUSTER_NODE) on one database, ../test.sqlite.
// The Go test plays the manager: it appends each worker's events to its
// input file (--input events.json --follow) with the ts that drives
// network time:
//   worker-1: cluster_started (T)            -> puts key1, key2 (2 s expiry)
//   both:     sqlite_data_written (T), once worker-1 has written
//             check_removed (T + 5 s)        -> Zeek's `schedule 5secs`
// `redef Storage::expire_interval = 2 secs` is the open option expire_interval.
const Z = require("../lib/zeekfmt");

const node = process.env.CLUSTER_NODE;

let backend;
const key1 = "key1234";
const value1 = "value1234";

const key2 = "key2345";
const value2 = "value2345";

on("init", () => {
  const opts = { expire_interval: 2, sqlite: { database_path: "../test.sqlite", table_name: "testing" } };

  const open_res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_SQLITE, opts, "string", "string");
  if (open_res.code !== Storage.SUCCESS)
    print(`Worker ${node} failed to open backend: ${open_res.error_str}`);

  backend = open_res.value;
});

on("check_removed", () => {
  let res = Storage.Sync.get(backend, key1);
  Z.print(node, "get result 1 after expiration", Z.result(res));

  res = Storage.Sync.get(backend, key2);
  Z.print(node, "get result 2 after expiration", Z.result(res));

  Storage.Sync.close_backend(backend);
  print("@@END@@"); // Zeek: terminate()
});

on("sqlite_data_written", () => {
  print("sqlite_data_written");
  // Zeek: schedule 5secs { check_removed() } -- the check_removed record.
});

if (node === "worker-1") {
  on("cluster_started", () => {
    let res = Storage.Sync.put(backend, { key: key1, value: value1 });
    Z.print(node, "put result 1", Z.result(res));

    res = Storage.Sync.put(backend, { key: key2, value: value2, expire_time: 2 });
    Z.print(node, "put result 2", Z.result(res));
    // Zeek publishes sqlite_data_written to the manager here; the Go test
    // sees "put result 2" and sends it to both workers.
  });
}
