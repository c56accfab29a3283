// Port of testing/btest/scripts/base/frameworks/storage/redis/missing-options.zeek
// (An assertion only, no Baseline: see sqlite/missing-options.js.)
on("init", () => {
  const opts = {}; // a Storage::BackendOptions without $redis
  const open_res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_REDIS, opts, "string", "string");
  if (open_res.code !== Storage.INITIALIZATION_FAILED)
    throw new Error("assertion failure: open_res$code == Storage::INITIALIZATION_FAILED (got " + JSON.stringify(open_res) + ")");
});
