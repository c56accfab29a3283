// Port of testing/btest/scripts/base/frameworks/storage/sqlite/basic.zeek
// Telemetry: run with --listen; "@@METRICS@@" marks where Zeek prints
// Telemetry::collect_metrics, "@@END@@" where it calls terminate() (see
// metrics.js). Zeek's
// `when (local r = Storage::Async::x(...)) {...} timeout 5sec {...}` is
// `when(() => Storage.Async.x(...), (r) => {...}, {timeout: 5, timeout_body})`.
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
    print("closed succesfully");
    print("@@END@@"); // Zeek: terminate()
  }, { timeout: 5, timeout_body: () => { print("close request timed out"); print("@@END@@"); } });
});

on("Storage.backend_opened", (tag, config) => {
  Z.print("Storage::backend_opened", Z.tag(tag), Z.options(tag, config));
});

on("init", () => {
  const opts = {};
  opts.serializer = Storage.STORAGE_SERIALIZER_JSON;
  opts.sqlite = { database_path: "test.sqlite", table_name: "testing" };

  const key = "key1234";
  const value = "value5678";

  when(() => Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE, opts, "string", "string"), (open_res) => {
    Z.print("open result", Z.result(open_res));
    b = open_res.value;

    when(() => Storage.Async.put(b, { key, value }), (put_res) => {
      Z.print("put result", Z.result(put_res));

      when(() => Storage.Async.get(b, key), (get_res) => {
        Z.print("get result", Z.result(get_res));
        if (get_res.code === Storage.SUCCESS && get_res.value !== undefined)
          Z.print("get result same as inserted", Z.bool(value === get_res.value));

        // Zeek: schedule 100 msec { print_metrics_and_close() } (no trace:
        // network time is the wall clock).
        setTimeout(() => emit("print_metrics_and_close"), 100);
      }, { timeout: 5, timeout_body: () => print("get request timed out") });
    }, { timeout: 5, timeout_body: () => print("put request timed out") });
  }, { timeout: 5, timeout_body: () => print("open request timed out") });
});
