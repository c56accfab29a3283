// Zeek's policy/protocols/ssl/known-certs in JavaScript.
//
// Logs each certificate that a local server offers, once per (host,
// certificate) per day, to known_certs.log with Zeek's fields. As in Zeek,
// the "once" is a storage put with overwrite: false and a day's expiry
// (Known::cert_store_expiry), so several processes sharing a store agree.
//
// Zeek sees the certificate in the ssl_established event; from logs we join
// ssl records (cert_chain_fps) with x509 records (fingerprint), in whichever
// order they arrive (inputs are merged in ts order).
"use strict";
const { Known } = require("scriptd/known");

const CONFIG = {
  // Site::local_nets: only certificates of local servers are tracked
  // (Known::cert_tracking = LOCAL_HOSTS).
  local_nets: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
  expire: "1d",
  database: "known-certs.sqlite",
};

function ipv4ToInt(a) {
  const p = a.split(".");
  if (p.length !== 4) return null;
  return p.reduce((n, o) => n * 256 + Number(o), 0);
}
const nets = CONFIG.local_nets.map((c) => {
  const [base, bits] = c.split("/");
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipv4ToInt(base) / size) * size;
  return [start, start + size];
});
function isLocal(addr) {
  const n = ipv4ToInt(addr);
  return n !== null && nets.some(([lo, hi]) => n >= lo && n < hi);
}

const known = new Known({
  name: "known_certs", key_type: { host: "addr", hash: "string" }, expire: CONFIG.expire,
  options: { sqlite: { database_path: CONFIG.database, table_name: "known_certs" } },
});
const certs = new Map();   // fingerprint -> x509 record
const waiting = new Map(); // fingerprint -> ssl records seen before their x509 record

// track logs the certificate a local server offered in an ssl record.
async function track(ssl, cert, host, fp) {
  const info = {
    ts: ssl.ts, // the record's own time
    host,
    port_num: ssl["id.resp_p"],
    subject: cert["certificate.subject"],
    issuer_subject: cert["certificate.issuer"],
    serial: cert["certificate.serial"],
  };
  if (await known.add({ host, hash: fp })) Log.write("known_certs", info);
}

on("x509", async (r) => {
  if (r.host_cert === false) return;
  certs.set(r.fingerprint, r);
  const early = waiting.get(r.fingerprint);
  if (!early) return;
  waiting.delete(r.fingerprint);
  for (const ssl of early) await track(ssl, r, ssl["id.resp_h"], r.fingerprint);
});

// Zeek writes an ssl record with its connection's start time, so a
// certificate's x509 record may come after the ssl record that used it.
on("ssl", async (r) => {
  if (!r.established) return;
  const chain = r.cert_chain_fps;
  const host = r["id.resp_h"];
  if (!chain || chain.length === 0 || !isLocal(host)) return;
  const fp = chain[0];
  const cert = certs.get(fp);
  if (cert) {
    await track(r, cert, host, fp);
    return;
  }
  if (!waiting.has(fp)) waiting.set(fp, []);
  waiting.get(fp).push(r);
});
