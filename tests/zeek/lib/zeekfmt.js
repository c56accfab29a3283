// zeekfmt: print values the way Zeek's `print` statement does, so that the
// ported btests in tests/zeek can be compared with Zeek's Baseline files
// verbatim.
//
//   const Z = require("../lib/zeekfmt");
//   Z.print("open result", res);          // open result, [code=Storage::SUCCESS, error_str=<uninitialized>, value=<opaque of BackendHandleVal>]
//   Z.print("get result same as inserted", Z.bool(v === "value5678"));
//   Z.print("Storage::backend_opened", Z.tag(tag), Z.options(tag, opts));
//
// The helper renders what scriptd hands it and nothing more: a field scriptd
// leaves out prints as <uninitialized> (Zeek's rendering of an unset field),
// a field Zeek's record does not have is appended at the end, and no default
// is ever filled in here. Differences from Zeek therefore show up in the
// output instead of being smoothed over.

"use strict";

const UNSET = "<uninitialized>";

// A value already rendered (returned by the helpers below), printed as is.
class Rendered {
  constructor(text) { this.text = text; }
}
const raw = (text) => new Rendered(text);

// isHandle reports whether v is a backend handle from open_backend.
function isHandle(v) {
  if (v === null || typeof v !== "object") return false;
  try {
    Storage.is_open(v);
    return true;
  } catch (e) {
    return false;
  }
}

// num prints a double as Zeek's ODesc::Add(double) does for the values the
// tests use: integral values get ".0", others up to 6 decimals.
function num(n) {
  if (Number.isInteger(n)) return n.toFixed(1);
  return String(Number(n.toFixed(6)));
}

// seconds turns a scriptd interval (a number of seconds, or a string such
// as "5s", "250ms", "1h30m", "2 hrs", "100 msec") into seconds; anything it
// cannot read is returned unchanged (and printed as given).
function seconds(v) {
  if (typeof v === "number") return v;
  if (typeof v !== "string") return v;
  const units = {
    ns: 1e-9, us: 1e-6, "µs": 1e-6, usec: 1e-6, usecs: 1e-6,
    ms: 1e-3, msec: 1e-3, msecs: 1e-3,
    s: 1, sec: 1, secs: 1, m: 60, min: 60, mins: 60,
    h: 3600, hr: 3600, hrs: 3600, d: 86400, day: 86400, days: 86400,
  };
  const re = /\s*(-?[0-9]+(?:\.[0-9]*)?)\s*([a-zµ]+)/gy;
  let total = 0, m, end = 0;
  while ((m = re.exec(v)) !== null) {
    if (!(m[2] in units)) return v;
    total += parseFloat(m[1]) * units[m[2]];
    end = re.lastIndex;
  }
  if (end === 0 || v.slice(end).trim() !== "") return v;
  return total;
}

// interval prints an interval as Zeek's IntervalVal::ValDescribe.
function interval(v) {
  let s = seconds(v);
  if (typeof s !== "number") return describe(v);
  if (s === 0) return "0 secs";
  const units = [[86400, "day"], [3600, "hr"], [60, "min"], [1, "sec"], [1e-3, "msec"], [1e-6, "usec"]];
  const parts = [];
  for (let i = 0; i < units.length; i++) {
    const [unit, word] = units[i];
    let n;
    if (i === units.length - 1) {
      n = s / unit;
      if (Math.abs(n) < 1e-6) {
        if (parts.length === 0) parts.push("0 secs");
        break;
      }
    } else {
      if (!(s >= unit || s <= -unit)) continue;
      n = s / unit;
      n = n < 0 ? Math.ceil(n) : Math.floor(n);
      s -= n * unit;
    }
    const one = Math.abs(n - 1) < 1e-6 || Math.abs(n + 1) < 1e-6;
    parts.push(num(n) + " " + word + (one ? "" : "s"));
  }
  return parts.join(" ");
}

// port prints a Zeek port: a number is a TCP port (the Redis server_port).
function port(v) {
  if (typeof v === "number") return v + "/tcp";
  return describe(v);
}

// table prints a Zeek table: a Map, an object {k: v} or an array of
// [k, v] pairs, one "[k] = v" per line, in the order given.
function table(v) {
  let entries;
  if (v instanceof Map) entries = [...v.entries()];
  else if (Array.isArray(v)) entries = v;
  else if (v !== null && typeof v === "object") entries = Object.entries(v);
  else return describe(v);
  if (entries.length === 0) return "{\n\n}";
  return "{\n" + entries.map(([k, x]) => "[" + describe(k) + "] = " + describe(x)).join(",\n") + "\n}";
}

// describe renders any value as Zeek's print would.
function describe(v) {
  if (v instanceof Rendered) return v.text;
  if (v === undefined) return UNSET;
  if (v === null) return UNSET;
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "T" : "F";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : num(v);
  if (isHandle(v)) return "<opaque of BackendHandleVal>";
  if (v instanceof Map) return table(v);
  if (Array.isArray(v)) return "[" + v.map(describe).join(", ") + "]";
  if (typeof v === "object") {
    return "[" + Object.keys(v).map((k) => k + "=" + describe(v[k])).join(", ") + "]";
  }
  return String(v);
}

// record prints the fields of v in Zeek's declared order (fields: [[name,
// renderer]]), <uninitialized> for each one v lacks, then any field v has
// that the Zeek record does not.
function record(v, fields) {
  if (v === null || typeof v !== "object") return describe(v);
  const known = new Set(fields.map(([name]) => name));
  const parts = fields.map(([name, render]) =>
    name + "=" + (v[name] === undefined ? UNSET : (render || describe)(v[name])));
  for (const k of Object.keys(v)) {
    if (!known.has(k)) parts.push(k + "=" + describe(v[k]));
  }
  return "[" + parts.join(", ") + "]";
}

const storageEnum = (s) => (typeof s === "string" && !s.includes("::") ? "Storage::" + s : describe(s));

// result prints a Storage::OperationResult.
function result(r) {
  return raw(record(r, [["code", storageEnum], ["error_str"], ["value"]]));
}

const sqliteOptions = [
  ["database_path"], ["table_name"], ["busy_timeout", interval], ["pragma_commands", table],
  ["pragma_timeout", interval], ["pragma_wait_on_busy", interval],
];
const redisOptions = [
  ["server_host"], ["server_port", port], ["server_unix_socket"], ["key_prefix"],
  ["connect_timeout", interval], ["operation_timeout", interval], ["username"], ["password"],
];

// options prints a Storage::BackendOptions record as the backend_opened /
// backend_lost events receive it. Each Zeek btest loads one backend's
// policy script, so the record has only that backend's field (tag decides).
function options(tag, o) {
  const sub = String(tag).endsWith("REDIS") ? ["redis", (x) => record(x, redisOptions)]
    : ["sqlite", (x) => record(x, sqliteOptions)];
  return raw(record(o, [["serializer", storageEnum], ["forced_sync"], sub]));
}

module.exports = {
  // print prints one line: the arguments rendered and joined by ", ", as
  // Zeek's `print a, b, c`.
  print: (...args) => print(args.map((a) => (a instanceof Rendered ? a.text : typeof a === "string" ? a : describe(a))).join(", ")),
  result,
  options,
  tag: (t) => raw(storageEnum(t)),
  bool: (b) => raw(b ? "T" : "F"),
  value: (v) => raw(describe(v)),
  interval: (v) => raw(interval(v)),
  describe,
};
