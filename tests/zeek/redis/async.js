// Port of testing/btest/scripts/base/frameworks/storage/redis/async.zeek
// The Go test starts a redis-server and sets REDIS_PORT ("<port>/tcp", as
// btest's @TEST-PORT does). Telemetry: run with --listen; "@@METRICS@@"
// marks where Zeek prints Telemetry::collect_metrics, the Go test fills it
// in from GET /metrics and then fires "metrics_scraped" (the rest of Zeek's
// print_metrics_and_close); "@@END@@" tells it the script is done (Zeek's
// terminate()).
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
    }, { timeout: 5, timeout_body: () => print("put request timed out") });
  }, { timeout: 5, timeout_body: () => print("open request timed out") });
});
