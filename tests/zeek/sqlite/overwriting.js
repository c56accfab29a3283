// Port of testing/btest/scripts/base/frameworks/storage/sqlite/overwriting.zeek
// (Zeek's "type str: string" typedef is just "string" here.)
const Z = require("../lib/zeekfmt");

on("init", () => {
  const opts = { sqlite: { database_path: "testing.sqlite", table_name: "testing" } };

  const key = "key1111";
  const value = "value7890";
  const value2 = "value2345";

  let res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_SQLITE, opts, "string", "string");
  Z.print("open result", Z.result(res));
  const b = res.value;

  // Put a first value. This should return Storage::SUCCESS.
  res = Storage.Sync.put(b, { key, value });
  Z.print("put result", Z.result(res));

  // Get the first value, validate that it's what we inserted.
  res = Storage.Sync.get(b, key);
  Z.print("get result", Z.result(res));
  if (res.code === Storage.SUCCESS && res.value !== undefined)
    Z.print("get result same as inserted", Z.bool(value === res.value));

  // This will return a Storage::KEY_EXISTS since we don't want overwriting.
  res = Storage.Sync.put(b, { key, value: value2, overwrite: false });
  Z.print("put result", Z.result(res));

  // Verify that the overwrite didn't actually happen.
  res = Storage.Sync.get(b, key);
  Z.print("get result", Z.result(res));
  if (res.code === Storage.SUCCESS && res.value !== undefined)
    Z.print("get result same as originally inserted", Z.bool(value === res.value));

  // This will return a Storage::SUCCESS since we're asking for an overwrite.
  res = Storage.Sync.put(b, { key, value: value2, overwrite: true });
  Z.print("put result", Z.result(res));

  // Verify that the overwrite happened.
  res = Storage.Sync.get(b, key);
  Z.print("get result", Z.result(res));
  if (res.code === Storage.SUCCESS && res.value !== undefined)
    Z.print("get result same as overwritten", Z.bool(value2 === res.value));

  Storage.Sync.close_backend(b);
});
