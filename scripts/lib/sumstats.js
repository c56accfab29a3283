// scriptd/sumstats — windowed counting in the spirit of Zeek's SumStats:
// observations per key are reduced over fixed epochs measured in network
// time (so a replayed log behaves as the live traffic did). A threshold
// callback fires at most once per key and epoch, when the reduced value
// first reaches the threshold; the epoch callback gets every key's result
// when the epoch ends.
//
//   const { SumStats } = require("scriptd/sumstats");
//   const nx = new SumStats({
//     epoch: "5m", reducer: "sum", threshold: 20,
//     on_threshold: (key, value) => Log.write("notice", {...}),
//   });
//   on("dns", (r) => { if (r.rcode_name === "NXDOMAIN") nx.observe(r["id.orig_h"]); });
//
// Reducers: "sum" (adds the observed number, default 1), "unique" (counts
// distinct observed values). State is in memory, per process; an epoch ends
// when an observation arrives past its end, or at flush() (call it in done).
"use strict";

function seconds(v) {
  if (typeof v === "number") return v;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(String(v));
  if (!m) throw new TypeError(`SumStats: bad interval ${JSON.stringify(v)} (use seconds or "30s", "5m", "1h")`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[m[2]];
}

class SumStats {
  constructor(opts = {}) {
    this.epoch = seconds(opts.epoch === undefined ? "5m" : opts.epoch);
    if (!(this.epoch > 0)) throw new TypeError("SumStats: epoch must be positive");
    this.reducer = opts.reducer || "sum";
    if (this.reducer !== "sum" && this.reducer !== "unique") throw new TypeError(`SumStats: unknown reducer ${this.reducer}`);
    this.threshold = opts.threshold;
    this.on_threshold = opts.on_threshold || null;
    this.on_epoch = opts.on_epoch || null;
    this.start = null;
    this.values = new Map(); // key -> number (sum) or Set (unique)
    this.crossed = new Set();
  }

  // observe adds one observation for key: a number for "sum" (default 1),
  // any value for "unique".
  observe(key, value) {
    const now = network_time();
    if (this.start === null) this.start = now;
    while (now >= this.start + this.epoch) {
      this.finishEpoch();
      this.start += this.epoch;
    }
    let v;
    if (this.reducer === "sum") {
      v = (this.values.get(key) || 0) + (value === undefined ? 1 : Number(value));
      this.values.set(key, v);
    } else {
      let s = this.values.get(key);
      if (!s) { s = new Set(); this.values.set(key, s); }
      s.add(typeof value === "object" ? JSON.stringify(value) : value);
      v = s.size;
    }
    if (this.threshold !== undefined && v >= this.threshold && !this.crossed.has(key)) {
      this.crossed.add(key);
      if (this.on_threshold) this.on_threshold(key, v, { epoch_start: this.start, epoch_end: this.start + this.epoch });
    }
    return v;
  }

  // value returns key's reduced value in the current epoch.
  value(key) {
    const v = this.values.get(key);
    if (v === undefined) return 0;
    return this.reducer === "sum" ? v : v.size;
  }

  finishEpoch() {
    if (this.on_epoch && this.values.size > 0) {
      const result = new Map();
      for (const [k, v] of this.values) result.set(k, this.reducer === "sum" ? v : v.size);
      this.on_epoch(result, { epoch_start: this.start, epoch_end: this.start + this.epoch });
    }
    this.values = new Map();
    this.crossed = new Set();
  }

  // flush ends the current epoch now (call it in a done handler).
  flush() {
    if (this.start !== null) this.finishEpoch();
  }
}

module.exports = { SumStats, seconds };
