// Port of testing/btest/scripts/base/frameworks/storage/sqlite/missing-options.zeek
// Zeek's test only asserts (no Baseline): its output is empty when the
// assertion holds. Zeek's `assert` failing prints to stderr; here the
// handler throws, which scriptd reports on stderr.
on("init", () => {
  const opts = {}; // a Storage::BackendOptions without $sqlite
  const open_res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_SQLITE, opts, "string", "string");
  if (open_res.code !== Storage.INITIALIZATION_FAILED)
    throw new Error("assertion failure: open_res$code == Storage::INITIALIZATION_FAILED (got " + JSON.stringify(open_res) + ")");
});
