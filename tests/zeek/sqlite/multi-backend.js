// Port of testing/btest/scripts/base/frameworks/storage/sqlite/multi-backend.zeek
// The Go test then runs the sqlite3 CLI as Zeek's test does
// (sqlite3 test1.sqlite "select * from testing" > test1-testing.out, ...).
on("init", () => {
  const opts1 = { sqlite: { database_path: "test1.sqlite", table_name: "testing" }, serializer: Storage.STORAGE_SERIALIZER_JSON };
  const opts2 = { sqlite: { database_path: "test2.sqlite", table_name: "testing1" }, serializer: Storage.STORAGE_SERIALIZER_JSON };
  const opts3 = { sqlite: { database_path: "test2.sqlite", table_name: "testing2" }, serializer: Storage.STORAGE_SERIALIZER_JSON };

  const res1 = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_SQLITE, opts1, "string", "string");
  const res2 = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_SQLITE, opts2, "string", "string");
  const res3 = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_SQLITE, opts3, "string", "string");

  Storage.Sync.put(res1.value, { key: "abc", value: "abc" });
  Storage.Sync.put(res2.value, { key: "def", value: "def" });
  Storage.Sync.put(res3.value, { key: "ghi", value: "ghi" });

  Storage.Sync.close_backend(res1.value);
  Storage.Sync.close_backend(res2.value);
  Storage.Sync.close_backend(res3.value);
});
