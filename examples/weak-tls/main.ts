// Servers that still negotiate deprecated SSL/TLS versions, from Zeek's
// ssl.log — a scriptd script in TypeScript with ES modules.
//
// Each (server address, port, version) is logged once per day to
// weak_tls.log. As Zeek's Known::* scripts do, "once" is a storage put with
// overwrite: false and a day's expiry (the bundled scriptd/known), kept in
// SQLite, so a second run over the same records logs nothing new.
//
// The versions counted as weak are the script's arguments
// (scriptd run ... -- SSLv3 TLSv10), by default SSLv2, SSLv3, TLSv10, TLSv11.
import { Known } from "scriptd/known";
import { type SSLRecord, type ServerKey, weakVersions } from "./lib/tls.js";
import { formatCounts } from "./lib/format.js";

const weak: ReadonlySet<string> = weakVersions(process.argv.slice(2));

const servers = new Known({
  name: "weak_tls",
  key_type: { host: "addr", port: "count", version: "string" },
  expire: "1d",
  options: { sqlite: { database_path: "weak-tls.sqlite", table_name: "weak_tls" } },
});

const perVersion = new Map<string, number>();

on("ssl", async (rec: ScriptdRecord) => {
  const r = rec as SSLRecord;
  if (r.version === undefined || !weak.has(r.version)) return;
  const key: ServerKey = { host: r["id.resp_h"], port: r["id.resp_p"], version: r.version };
  if (!(await servers.add(key))) return; // already logged today
  perVersion.set(key.version, (perVersion.get(key.version) ?? 0) + 1);
  Log.write("weak_tls", { ts: r.ts, ...key, cipher: r.cipher ?? null, server_name: r.server_name ?? null });
});

on("done", () => {
  print(`weak TLS servers: ${formatCounts(perVersion)}`);
});
