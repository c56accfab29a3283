// A webhook automation fed over HTTP (scriptd run --listen).
//
// Alerting systems retry, so the same alert arrives more than once. Each
// POST /v1/events/alert carries one alert {id, severity, summary}; the first
// delivery of an id within 10 minutes is acted on (here: a line in
// actions.log), repeats are counted and dropped. The dedup is a storage put
// with overwrite: false and an expiry, so it holds across restarts and across
// several scriptd processes sharing a Redis.
"use strict";

const CONFIG = { window: "10m", database: "webhook.sqlite" };
let seen = null;
let duplicates = 0;

on("init", async () => {
  const r = await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE,
    { sqlite: { database_path: CONFIG.database, table_name: "alerts_seen" } }, "string", "double");
  if (r.code !== Storage.SUCCESS) throw new Error(`cannot open dedup store: ${r.error_str}`);
  seen = r.value;
});

on("alert", async (alert) => {
  if (!alert || typeof alert.id !== "string") {
    console.error("alert without a string id dropped:", JSON.stringify(alert));
    return;
  }
  const r = await Storage.Async.put(seen, { key: alert.id, value: current_time(), overwrite: false, expire_time: CONFIG.window });
  if (r.code === Storage.KEY_EXISTS) { duplicates++; return; }
  if (r.code !== Storage.SUCCESS) { console.error(`alert ${alert.id}: ${r.code} ${r.error_str || ""}`); return; }
  Log.write("actions", { ts: current_time(), id: alert.id, severity: alert.severity || "unknown", action: "page", summary: alert.summary || "" });
});

on("done", () => print(`duplicates dropped: ${duplicates}`));
