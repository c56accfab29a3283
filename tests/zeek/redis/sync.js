// Port of testing/btest/scripts/base/frameworks/storage/redis/sync.zeek
// (REDIS_PORT, telemetry and the @@METRICS@@ / @@END@@ markers: see
// async.js. Zeek's test runs its output through
// sed 's|=[0-9]*/tcp|=XXXX/tcp|g'; the Go test does the same.)
const Z = require("../lib/zeekfmt");

let b;

on("print_metrics_and_close", () => {
  print("");
  print("Post-operation metrics:");
  print("@@METRICS@@");
});

on("metrics_scraped", () => {
  print("");
  Storage.Sync.close_backend(b);
});

on("Storage.backend_opened", (tag, config) => {
  Z.print("Storage::backend_opened", Z.tag(tag), Z.options(tag, config));
});

on("Storage.backend_lost", (tag, config, reason) => {
  Z.print("Storage::backend_lost", Z.tag(tag), Z.options(tag, config), reason);
  print("@@END@@"); // Zeek: terminate()
});

on("init", () => {
  const opts = {};
  opts.serializer = Storage.STORAGE_SERIALIZER_JSON;
  opts.redis = { server_host: "127.0.0.1", server_port: process.env.REDIS_PORT, key_prefix: "testing" };

  const key = "key1234";
  const value = "value1234";
  const value2 = "value2345";

  let res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_REDIS, opts, "string", "string");
  Z.print("open_result", Z.result(res));

  b = res.value;

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

  // Attempt to get a value that doesn't exist.
  res = Storage.Sync.get(b, "testing");
  Z.print("get result", Z.result(res));

  // Zeek: schedule 100 msec { print_metrics_and_close() } (no trace:
  // network time is the wall clock).
  setTimeout(() => emit("print_metrics_and_close"), 100);
});
