// Port of testing/btest/scripts/base/frameworks/storage/sqlite/basic-reading-pcap.zeek
// Zeek reads $TRACES/http/get.pcap; here --input get-pcap.json carries one
// record per packet of that trace with its ts (no handler: they only drive
// network time, as the packets do for Zeek).
const Z = require("../lib/zeekfmt");

on("init", () => {
  const opts = { sqlite: { database_path: "test.sqlite", table_name: "testing" } };

  const key = "key1234";
  const value = "value5678";

  const open_res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_SQLITE, opts, "string", "string");
  Z.print("open result", Z.result(open_res));

  const b = open_res.value;

  when(() => Storage.Async.put(b, { key, value }), (res) => {
    Z.print("put result", Z.result(res));

    when(() => Storage.Async.get(b, key), (res2) => {
      Z.print("get result", Z.result(res2));
      if (res2.code === Storage.SUCCESS && res2.value !== undefined)
        Z.print("get result same as inserted", Z.bool(value === res2.value));

      Storage.Sync.close_backend(b);
    }, { timeout: 5, timeout_body: () => print("get request timed out") });
  }, { timeout: 5, timeout_body: () => print("put request timed out") });
});
