// DNS detector over Zeek's dns.log.
//
// Two behaviours, each counted per source over 5-minute epochs of network
// time (so a replayed log behaves as the live traffic did):
//   DNS::NXDOMAIN_Burst  a source got many NXDOMAIN answers;
//   DNS::Name_Sweep      a source asked for many distinct names.
// Each notice is written to notice.log at most once per (note, source) per
// hour: the suppression lives in SQLite with expiry, so it survives restarts
// and hot reloads, as Zeek's Notice framework suppresses repeats.
"use strict";
const { SumStats } = require("scriptd/sumstats");

const CONFIG = {
  epoch: "5m",
  nxdomain_threshold: 20,
  distinct_names_threshold: 40,
  suppress_for: "1h",
  database: "dns-detector.sqlite",
};

let suppression = null;

on("init", async () => {
  const r = await Storage.Async.open_backend(
    Storage.STORAGE_BACKEND_SQLITE,
    { sqlite: { database_path: CONFIG.database, table_name: "notice_suppression" } },
    { note: "string", src: "addr" }, // key: a record
    "double",                        // value: when the notice was raised
  );
  if (r.code !== Storage.SUCCESS) throw new Error(`cannot open suppression store: ${r.error_str}`);
  suppression = r.value;
});

// notice writes one notice unless an identical one was raised within
// suppress_for. Called from the async dns handler, so it runs in an
// awaiting context.
async function notice(note, src, msg, n, epoch) {
  const ts = network_time(); // the time the threshold was crossed, as Zeek stamps notices
  const r = await Storage.Async.put(suppression, {
    key: { note, src }, value: ts, overwrite: false, expire_time: CONFIG.suppress_for,
  });
  if (r.code === Storage.KEY_EXISTS) return; // suppressed
  if (r.code !== Storage.SUCCESS) {
    console.error(`notice ${note} ${src}: ${r.code} ${r.error_str || ""}`);
    return;
  }
  Log.write("notice", { ts, note, src, msg, n, epoch_start: epoch.epoch_start, suppress_for: 3600 });
}

const nxdomains = new SumStats({
  epoch: CONFIG.epoch, reducer: "sum", threshold: CONFIG.nxdomain_threshold,
  on_threshold: (src, n, epoch) => notice("DNS::NXDOMAIN_Burst", src, `${src} got ${n} NXDOMAIN answers within ${CONFIG.epoch}`, n, epoch),
});
const names = new SumStats({
  epoch: CONFIG.epoch, reducer: "unique", threshold: CONFIG.distinct_names_threshold,
  on_threshold: (src, n, epoch) => notice("DNS::Name_Sweep", src, `${src} queried ${n} distinct names within ${CONFIG.epoch}`, n, epoch),
});

on("dns", async (r) => {
  const src = r["id.orig_h"];
  if (r.rcode_name === "NXDOMAIN") nxdomains.observe(src);
  if (r.query !== undefined) names.observe(src, r.query);
});

on("done", () => {
  nxdomains.flush();
  names.flush();
});
