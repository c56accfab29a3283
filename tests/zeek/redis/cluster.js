// Port of testing/btest/scripts/base/frameworks/storage/redis/cluster.zeek
// The cluster becomes two scriptd processes (worker-1 and worker-2, named
// by CLUSTER_NODE) on one redis-server. The Go test plays the manager: it
// sends cluster_started to worker-1 on stdin (--input -), and once
// worker-1 has printed its put result, redis_data_written to both.
// (REDIS_PORT: see async.js.)
const Z = require("../lib/zeekfmt");

const node = process.env.CLUSTER_NODE;

let backend;

on("init", () => {
  const opts = {};
  opts.redis = { server_host: "127.0.0.1", server_port: process.env.REDIS_PORT, key_prefix: "testing" };

  const open_res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_REDIS, opts, "string", "string");
  backend = open_res.value;
});

on("redis_data_written", () => {
  print("redis_data_written");
  const res = Storage.Sync.get(backend, "1234");
  Z.print(node, Z.result(res));
  Storage.Sync.close_backend(backend);
  print("@@END@@"); // Zeek: terminate()
});

if (node === "worker-1") {
  on("cluster_started", () => {
    const res = Storage.Sync.put(backend, { key: "1234", value: "5678" });
    Z.print(node, "put result", Z.result(res));
    // Zeek publishes redis_data_written to the manager here; the Go test
    // sees "put result" and sends it to both workers.
  });
}
