// Port of testing/btest/scripts/base/frameworks/storage/redis/auth.zeek
// The Go test starts redis-server with `requirepass testpassword`, as
// btest's run-redis-server does when given a password.
const Z = require("../lib/zeekfmt");

on("init", () => {
  const opts = {};
  opts.redis = { server_host: "127.0.0.1", server_port: process.env.REDIS_PORT, key_prefix: "testing", password: "notthepassword" };

  // This should fail because the password doesn't match.
  let res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_REDIS, opts, "string", "string");
  Z.print("open 1", Z.result(res));
  if (res.code === Storage.SUCCESS)
    return;

  opts.redis.password = "testpassword";
  res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_REDIS, opts, "string", "string");
  Z.print("open 2", Z.result(res));

  if (res.code !== Storage.SUCCESS)
    return;

  const backend = res.value;
  res = Storage.Sync.close_backend(backend);
  Z.print("close", Z.result(res));
});
