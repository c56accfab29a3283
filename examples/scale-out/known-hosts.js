// Known hosts, found by several scriptd workers sharing one feed.
//
// The DNS records arrive on a stream (NATS JetStream or Redis Streams) that
// the workers consume as one group: each record goes to one worker, and is
// acknowledged only once this handler has settled. A worker that dies
// leaves its unacknowledged records to the others, so a record may be
// handled twice: the effect is made idempotent by the put with
// overwrite: false (SET NX in Redis), which exactly one worker wins for
// each address, however often its records are delivered.
//
// Configure with REDIS_HOST, REDIS_PORT (the state) and WORKER.
"use strict";
const { Known } = require("scriptd/known");

const worker = process.env.WORKER || String(process.pid);
const hosts = new Known({
  name: "known_hosts",
  key_type: "addr",
  expire: "1d",
  backend: Storage.STORAGE_BACKEND_REDIS,
  options: {
    redis: {
      server_host: process.env.REDIS_HOST || "127.0.0.1",
      server_port: Number(process.env.REDIS_PORT || 6379),
      key_prefix: "scale-out",
    },
  },
});

let records = 0;
on("dns", async (r) => {
  records++;
  const host = r["id.orig_h"];
  if (await hosts.add(host)) Log.write("known_hosts", { ts: r.ts, host, worker });
});

on("done", () => print(`worker ${worker}: handled ${records} records`));
