// Port of testing/btest/scripts/base/frameworks/storage/sqlite/expiration.zeek
// Zeek reads $TRACES/echo-connections.pcap.gz; its timers fire on the
// packets' network time. expiration.json carries the two moments that
// matter: setup_test at the trace's first packet (1627225020.686470, where
// Zeek's `schedule 100msecs` from zeek_init fires) and check_removed at the
// first packet 5 s later (1627225025.686472, the time of Zeek's "received
// termination signal"). `redef Storage::expire_interval = 2 secs` is the
// open option expire_interval.
const Z = require("../lib/zeekfmt");

let b;
const key1 = "key1234";
const value1 = "value1234";

const key2 = "key2345";
const value2 = "value2345";

const key3 = "key3456";
const value3 = "value3456";

on("check_removed", () => {
  let res = Storage.Sync.get(b, key1);
  Z.print("get result 1 after expiration", Z.result(res));

  res = Storage.Sync.get(b, key2);
  Z.print("get result 2 after expiration", Z.result(res));

  res = Storage.Sync.get(b, key3);
  Z.print("get result 3 after expiration", Z.result(res));

  Storage.Sync.close_backend(b);
});

on("setup_test", () => {
  const opts = { expire_interval: 2, sqlite: { database_path: "storage-test.sqlite", table_name: "testing" } };

  const open_res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_SQLITE, opts, "string", "string");
  Z.print("open result", Z.result(open_res));

  b = open_res.value;

  // Insert a key that will expire in the time allotted
  let res = Storage.Sync.put(b, { key: key1, value: value1, expire_time: 2 });
  Z.print("put result 1", Z.result(res));

  // Insert a key that won't expire
  res = Storage.Sync.put(b, { key: key2, value: value2, expire_time: 20 });
  Z.print("put result 2", Z.result(res));

  // Insert a key that should expire and then overwrite it with a new expiration time to
  // set it to something that won't expire to verify that expiration gets reset.
  res = Storage.Sync.put(b, { key: key3, value: value3, expire_time: 2 });
  Z.print("put result 3.1", Z.result(res));

  res = Storage.Sync.put(b, { key: key3, value: value3, expire_time: 25, overwrite: true });
  Z.print("put result 3.2", Z.result(res));

  res = Storage.Sync.get(b, key1);
  Z.print("get result", Z.result(res));
  if (res.code === Storage.SUCCESS && res.value !== undefined)
    Z.print("get result same as inserted", Z.bool(value1 === res.value));

  res = Storage.Sync.get(b, key2);
  Z.print("get result 2", Z.result(res));
  if (res.code === Storage.SUCCESS && res.value !== undefined)
    Z.print("get result 2 same as inserted", Z.bool(value2 === res.value));

  res = Storage.Sync.get(b, key3);
  Z.print("get result 3", Z.result(res));
  if (res.code === Storage.SUCCESS && res.value !== undefined)
    Z.print("get result 3 same as inserted", Z.bool(value3 === res.value));

  // Zeek: schedule 5secs { check_removed() } -- the check_removed record.
});
