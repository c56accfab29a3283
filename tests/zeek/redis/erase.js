// Port of testing/btest/scripts/base/frameworks/storage/redis/erase.zeek
// (REDIS_PORT: see async.js.)
const Z = require("../lib/zeekfmt");

on("init", () => {
  const opts = {};
  opts.redis = { server_host: "127.0.0.1", server_port: process.env.REDIS_PORT, key_prefix: "testing" };

  const key = "key1234";
  const value = "value1234";

  const open_res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_REDIS, opts, "string", "string");
  Z.print("open_result", Z.result(open_res));

  const b = open_res.value;

  let res = Storage.Sync.put(b, { key, value });
  Z.print("put result", Z.result(res));

  res = Storage.Sync.get(b, key);
  Z.print("get result", Z.result(res));
  if (res.code === Storage.SUCCESS && res.value !== undefined)
    Z.print("get result same as inserted", Z.bool(value === res.value));

  res = Storage.Sync.erase(b, key);
  Z.print("erase result", Z.result(res));

  res = Storage.Sync.get(b, key);
  if (res.code !== Storage.SUCCESS)
    Z.print("get result 2", Z.result(res));

  Storage.Sync.close_backend(b);
});
