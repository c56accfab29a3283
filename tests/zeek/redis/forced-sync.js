// Port of testing/btest/scripts/base/frameworks/storage/redis/forced-sync.zeek
// As async.js, with forced_sync: true in the open options. (Telemetry and
// the @@METRICS@@ / @@END@@ markers: see async.js.)
const Z = require("../lib/zeekfmt");

let b;

on("print_metrics_and_close", () => {
  print("");
  print("Post-operation metrics:");
  print("@@METRICS@@");
});

on("metrics_scraped", () => {
  print("");
  when(() => Storage.Async.close_backend(b), (close_res) => {
    Z.print("close result", Z.result(close_res));
    print("@@END@@");
  }, { timeout: 5, timeout_body: () => { print("close result timed out"); print("@@END@@"); } });
});

on("init", () => {
  const opts = {};
  opts.forced_sync = true;
  opts.redis = { server_host: "127.0.0.1", server_port: process.env.REDIS_PORT, key_prefix: "testing" };

  const key = "key1234";
  const value = "value5678";

  when(() => Storage.Async.open_backend(Storage.STORAGE_BACKEND_REDIS, opts, "string", "string"), (open_res) => {
    Z.print("open result", Z.result(open_res));
    b = open_res.value;

    when(() => Storage.Async.put(b, { key, value }), (put_res) => {
      Z.print("put result", Z.result(put_res));

      when(() => Storage.Async.get(b, key), (get_res) => {
        Z.print("get result", Z.result(get_res));
        if (get_res.code === Storage.SUCCESS && get_res.value !== undefined)
          Z.print("get result same as inserted", Z.bool(value === get_res.value));

        emit("print_metrics_and_close");
      }, { timeout: 5, timeout_body: () => print("get request timed out") });

      print("inner get done");
    }, { timeout: 5, timeout_body: () => print("put request timed out") });

    print("inner put done");
  }, { timeout: 5, timeout_body: () => print("open request timed out") });

  print("outer open done");
});
