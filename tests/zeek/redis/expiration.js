// Port of testing/btest/scripts/base/frameworks/storage/redis/expiration.zeek
// Zeek's script is the same as native-expiration.zeek and runs live, though
// its TEST-DOC says "Tests expiration of data from Redis when reading a
// pcap". This port does what the TEST-DOC says: expiration.json replays
// setup_test and check_removed 5 s apart at network times far from the
// wall clock, so the handle uses Zeek's replay layout (the
// <key_prefix>_expire sorted set and the sweep) instead of Redis's own
// expiry; native-expiration.js covers the live case. Same Baseline.
// `redef Storage::expire_interval = 2secs` is the open option
// expire_interval. (REDIS_PORT: see async.js.)
const Z = require("../lib/zeekfmt");

let b;
const key1 = "key1234";
const value1 = "value1234";

const key2 = "key2345";
const value2 = "value2345";

on("check_removed", () => {
  let res = Storage.Sync.get(b, key1);
  Z.print("get result 1 after expiration", Z.result(res));

  res = Storage.Sync.get(b, key2);
  Z.print("get result 2 after expiration", Z.result(res));

  Storage.Sync.close_backend(b);
});

on("setup_test", () => {
  const opts = { expire_interval: 2 };
  opts.redis = { server_host: "127.0.0.1", server_port: process.env.REDIS_PORT, key_prefix: "testing" };

  const open_res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_REDIS, opts, "string", "string");
  Z.print("open result", Z.result(open_res));

  b = open_res.value;

  // Insert a key that will expire in the time allotted
  let res = Storage.Sync.put(b, { key: key1, value: value1, expire_time: 2 });
  Z.print("put result 1", Z.result(res));

  // Insert a key that won't expire
  res = Storage.Sync.put(b, { key: key2, value: value2, expire_time: 20 });
  Z.print("put result 2", Z.result(res));

  res = Storage.Sync.get(b, key1);
  Z.print("get result", Z.result(res));
  if (res.code === Storage.SUCCESS && res.value !== undefined)
    Z.print("get result same as inserted", Z.bool(value1 === res.value));

  res = Storage.Sync.get(b, key2);
  Z.print("get result 2", Z.result(res));
  if (res.code === Storage.SUCCESS && res.value !== undefined)
    Z.print("get result 2 same as inserted", Z.bool(value2 === res.value));

  // Zeek: schedule 5secs { check_removed() } -- the check_removed record.
});

