// Port of testing/btest/scripts/base/frameworks/storage/sqlite/erase.zeek
// Zeek's test copies $FILES/storage-test.sqlite (an old file whose table has
// text columns and holds only "key1111") into the working directory; the Go
// test copies tests/zeek/sqlite/storage-test.sqlite, the same file.
const Z = require("../lib/zeekfmt");

on("Storage.backend_opened", (tag, config) => {
  Z.print("Storage::backend_opened", Z.tag(tag), Z.options(tag, config));
});

on("init", () => {
  const opts = { sqlite: { database_path: "storage-test.sqlite", table_name: "testing" } };

  const key = "key1234";

  const open_res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_SQLITE, opts, "string", "string");
  Z.print("open result", Z.result(open_res));
  const b = open_res.value;

  const res = Storage.Sync.erase(b, key);
  Z.print("erase result", Z.result(res));

  const res2 = Storage.Sync.get(b, key);
  if (res2.code !== Storage.SUCCESS)
    Z.print("get result", Z.result(res2));

  Storage.Sync.close_backend(b);
});
