// Port of testing/btest/scripts/base/frameworks/storage/sqlite/error-handling.zeek
const Z = require("../lib/zeekfmt");

on("init", () => {
  // Test opening a database with an invalid path
  const opts = { sqlite: { database_path: "/this/path/should/not/exist/test.sqlite", table_name: "testing" } };

  let open_res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_SQLITE, opts, "string", "string");
  Z.print("Open result", Z.result(open_res));

  // Open a valid database file
  opts.sqlite.database_path = "test.sqlite";
  open_res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_SQLITE, opts, "string", "string");
  Z.print("Open result 2", Z.result(open_res));

  const b = open_res.value;

  Z.print("Opened handle is open", Z.bool(Storage.is_open(b)));

  const bad_key = 12345; // a count where the backend's key type is string
  const value = "abcde";
  const res = Storage.Sync.put(b, { key: bad_key, value });
  Z.print("Put result with bad key type", Z.result(res));

  // Close the backend and then attempt to use the closed handle
  Storage.Sync.close_backend(b);

  // Test if the now-closed backend is open.
  Z.print("Closed backend is open", Z.bool(Storage.is_open(b)));

  const res2 = Storage.Sync.put(b, { key: "a", value: "b" });
  Z.print("Put result on closed handle", Z.result(res2));
});
