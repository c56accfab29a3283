// Port of testing/btest/scripts/base/frameworks/storage/sqlite/basic-sync-in-when.zeek
// Storage.Sync.* calls as the conditions of when().
const Z = require("../lib/zeekfmt");

on("Storage.backend_opened", (tag, config) => {
  Z.print("Storage::backend_opened", Z.tag(tag), Z.options(tag, config));
});

on("init", () => {
  const opts = { sqlite: { database_path: "test.sqlite", table_name: "testing" } };

  const key = "key1234";
  const value = "value5678";

  when(() => Storage.Sync.open_backend(Storage.STORAGE_BACKEND_SQLITE, opts, "string", "string"), (open_res) => {
    Z.print("open result", Z.result(open_res));
    const b = open_res.value;

    when(() => Storage.Sync.put(b, { key, value }), (put_res) => {
      Z.print("put result", Z.result(put_res));

      when(() => Storage.Sync.get(b, key), (get_res) => {
        Z.print("get result", Z.result(get_res));
        if (get_res.code === Storage.SUCCESS && get_res.value !== undefined)
          Z.print("get result same as inserted", Z.bool(value === get_res.value));

        when(() => Storage.Sync.close_backend(b), (close_res) => {
          print("closed succesfully");
        }, { timeout: 5, timeout_body: () => print("close request timed out") });
      }, { timeout: 5, timeout_body: () => print("get request timed out") });
    }, { timeout: 5, timeout_body: () => print("put request timed out") });
  }, { timeout: 5, timeout_body: () => print("open request timed out") });
});
