// Known hosts shared by several scriptd processes through Redis.
//
// Every process reads its own share of the DNS log and logs each source
// address the first time the *fleet* sees it: the put with
// overwrite: false is atomic in Redis (SET NX), so exactly one process wins
// each address, and the keys use Zeek's layout (<key_prefix>:<JSONv1 key>),
// so Zeek itself could share the store.
//
// Configure with REDIS_HOST, REDIS_PORT and WORKER in the environment.
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
      key_prefix: "scriptd-example",
    },
  },
});

on("Storage.backend_lost", (tag, options, reason) => console.error(`worker ${worker}: lost ${tag}: ${reason}`));

on("dns", async (r) => {
  const host = r["id.orig_h"];
  if (await hosts.add(host)) Log.write("known_hosts", { ts: r.ts, host, worker }); // the record's time, not the reader's position after the await
});
