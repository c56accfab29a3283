// Port of testing/btest/scripts/base/frameworks/storage/sqlite/compound-types.zeek
//
// Mapping of Zeek's types (SPEC §3):
//   type Color: enum {Red, White, Blue}  -> "enum" (the value is the name, "Red")
//   type Rec: record {...}               -> a record shape; `&optional` -> "count?"
//   def: count &default=123              -> "count", given as 123 (a key is
//                                           written with its default, so the
//                                           stored key is the same)
//   re: pattern                          -> left out: scriptd has no pattern
//                                           type (SPEC §3 does not list one)
//   table[count] of string               -> ["table", "count", "string"], a Map
// Zeek prints an unordered table in its hash order ([2], [1], [3] in the
// Baseline); a Map keeps insertion order, so the value is built in that
// order to print the same.
const Z = require("../lib/zeekfmt");

const Rec = {
  hello: "string",
  t: "bool",
  f: "bool",
  n: "count?",
  m: "count?", // not in input
  def: "count",
  i: "int",
  pi: "double",
  a: ["vector", "string"], // string_vec
  c1: "enum", // Color
  p: "port",
  ti: "time",
  it: "interval",
  ad: "addr",
  s: "subnet",
  su: ["set", "subnet"], // subnet_set
};
const tbl = ["table", "count", "string"];

on("init", () => {
  const opts = { sqlite: { database_path: "types_test.sqlite", table_name: "types_testing" } };

  const key = {
    hello: "hello",
    t: true,
    f: false,
    n: 1234,
    m: 5678,
    def: 123,
    i: -2345,
    pi: 345.0,
    a: ["a", "b", "c"],
    c1: "Red",
    p: "1234/tcp",
    ti: current_time(),
    it: 15, // 15sec
    ad: "1.2.3.4",
    s: "255.255.255.0/24",
    su: ["255.255.255.0/24"],
  };

  const value = new Map();
  value.set(2, "b");
  value.set(1, "a");
  value.set(3, "c");

  const open_res = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_SQLITE, opts, Rec, tbl);
  Z.print("open result", Z.result(open_res));
  const b = open_res.value;

  const res = Storage.Sync.put(b, { key, value });
  Z.print("put result", Z.result(res));

  const res2 = Storage.Sync.get(b, key);
  Z.print("get result", Z.result(res2));

  Storage.Sync.close_backend(b);
});
