// Port of testing/btest/scripts/base/frameworks/storage/redis/error-handling.zeek
// REDIS_PORT is a free port nobody listens on (Zeek's test starts no server).
on("init", () => {
  // Test failing to connect to a server
  const opts = {};
  opts.redis = { server_host: "127.0.0.1", server_port: process.env.REDIS_PORT, key_prefix: "testing" };

  const res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_REDIS, opts, "string", "string");

  // macOS says this is a timeout, but linux says it's a connection refused. The
  // error string in the record contains the full reason, so don't print out the full
  // record in the interest of test determinism.
  if (res.code === Storage.CONNECTION_FAILED)
    print("Failed to connect");
});
