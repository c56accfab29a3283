// Baseline for scriptd's dispatch benchmark (P1): the same work in Node.js —
// read JSON lines, parse each, emit it on an EventEmitter under its _path to
// a trivial counting handler — timed from start to end of input.
// Usage: node node-dispatch.js FILE   (prints: events N seconds S rate R)
"use strict";
const fs = require("fs");
const readline = require("readline");
const { EventEmitter } = require("events");

const ee = new EventEmitter();
let n = 0;
ee.on("dns", () => { n++; });
const t0 = process.hrtime.bigint();
const rl = readline.createInterface({ input: fs.createReadStream(process.argv[2]), crlfDelay: Infinity });
rl.on("line", (line) => {
  if (line.length === 0) return;
  const r = JSON.parse(line);
  ee.emit(r._path, r);
});
rl.on("close", () => {
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`events ${n} seconds ${s.toFixed(3)} rate ${Math.round(n / s)}`);
});
