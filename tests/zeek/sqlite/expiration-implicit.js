// Port of testing/btest/scripts/base/frameworks/storage/sqlite/expiration-implicit.zeek
// Zeek sets network time by hand (allow_network_time_forward=F,
// set_network_time); here network time comes from the records of
// expiration-implicit.json: "before" at T, "after" at T + 2 * expire.
// Zeek's `redef Storage::expire_interval = 1secs` is the open option
// expire_interval.
const Z = require("../lib/zeekfmt");

const expire_interval = 1;
let h;
const key = "k";
const value = "v";

on("before", () => {
  const opts = {
    serializer: Storage.STORAGE_SERIALIZER_JSON,
    expire_interval,
    sqlite: { database_path: "test.sqlite", table_name: "testing" },
  };

  const open_res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_SQLITE, opts, "string", "string");
  h = open_res.value;

  // Expire entries well within `Storage::expire_interval` so `DoExpire` does not kick in.
  const expire = expire_interval / 10;
  Storage.Sync.put(h, { key, value, expire_time: expire });

  // The entry we just put in exists.
  const get = Storage.Sync.get(h, key);
  Z.print("BEFORE", Z.result(get));
});

// Advance time: this record's ts is the first one's + expire * 2.
on("after", () => {
  // An expired value does not exist.
  let get = Storage.Sync.get(h, key);
  Z.print("AFTER", Z.result(get));

  // Even though the entry still exists in the backend we can put a
  // new value in its place without specifying overwrite.
  Storage.Sync.put(h, { key, value: value + value });

  get = Storage.Sync.get(h, key);
  Z.print("OVERWRITE", Z.result(get));

  Storage.Sync.close_backend(h);
});
