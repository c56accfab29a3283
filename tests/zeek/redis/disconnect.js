// Port of testing/btest/scripts/base/frameworks/storage/redis/disconnect.zeek
// Zeek's script kills its redis-server with system("kill ..."); here the
// Go test does it once "open_result" is printed. The run is kept alive by
// --input - (stdin), which the Go test closes once backend_lost has been
// printed (Zeek's terminate() in the handler). The output goes through
// Zeek's sed 's|=[0-9]*/tcp|=xxxx/tcp|g'. (REDIS_PORT: see async.js.)
const Z = require("../lib/zeekfmt");

on("Storage.backend_opened", (tag, config) => {
  Z.print("Storage::backend_opened", Z.tag(tag), Z.options(tag, config));
});

on("Storage.backend_lost", (tag, config, reason) => {
  Z.print("Storage::backend_lost", Z.tag(tag), Z.options(tag, config), reason);
});

on("init", () => {
  const opts = {};
  opts.serializer = Storage.STORAGE_SERIALIZER_JSON;
  opts.redis = { server_host: "127.0.0.1", server_port: process.env.REDIS_PORT, key_prefix: "testing" };

  const key = "key1234";
  const value = "value1234";

  const open_res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_REDIS, opts, "string", "string");
  Z.print("open_result", Z.result(open_res));

  // Kill the redis server so the backend will disconnect and fire the
  // backend_lost event: the Go test does that on seeing open_result.
});
