// scriptd/known — "known things" tracking on the storage framework, after
// Zeek's Known::* policy scripts (known-hosts, known-certs, known-services):
// the first sighting of a key within the expiry period is new, later ones
// are not. Backed by Storage with `overwrite: false`, so several scriptd
// processes sharing one store (Redis) agree on what is new: exactly one
// of them sees a key as new.
//
//   const { Known } = require("scriptd/known");
//   const hosts = new Known({ name: "hosts", key_type: "addr", expire: "1d" });
//   on("conn", async (c) => { if (await hosts.add(c["id.orig_h"])) Log.write("known_hosts", {...}); });
//
// Options: name (table / key prefix, default "known"), key_type (default
// "string"), expire (interval, default "1d" as Zeek's *_store_expiry),
// backend (default Storage.STORAGE_BACKEND_SQLITE), options (backend
// options; default a SQLite file "known.sqlite" with table <name>).
"use strict";

class Known {
  constructor(opts = {}) {
    this.name = opts.name || "known";
    this.key_type = opts.key_type || "string";
    this.expire = opts.expire === undefined ? "1d" : opts.expire;
    this.backend = opts.backend || Storage.STORAGE_BACKEND_SQLITE;
    this.options = opts.options || { sqlite: { database_path: "known.sqlite", table_name: this.name } };
    this.handle = null;
    this.opening = null;
  }

  // open opens the backing store once; add() calls it as needed.
  async open() {
    if (this.handle) return this.handle;
    if (!this.opening) {
      this.opening = Storage.Async.open_backend(this.backend, this.options, this.key_type, "bool").then((r) => {
        if (r.code !== Storage.SUCCESS) {
          this.opening = null;
          throw new Error(`Known(${this.name}): ${r.error_str || r.code}`);
        }
        this.handle = r.value;
        return this.handle;
      });
    }
    return this.opening;
  }

  // add records key; it resolves true if the key was not known (or had
  // expired), false if it was. Other storage failures reject.
  async add(key) {
    const h = await this.open();
    const r = await Storage.Async.put(h, { key, value: true, overwrite: false, expire_time: this.expire });
    if (r.code === Storage.SUCCESS) return true;
    if (r.code === Storage.KEY_EXISTS) return false;
    throw new Error(`Known(${this.name}).add: ${r.code}${r.error_str ? ": " + r.error_str : ""}`);
  }

  // has resolves whether key is known (and not expired).
  async has(key) {
    const h = await this.open();
    const r = await Storage.Async.get(h, key);
    if (r.code === Storage.SUCCESS) return true;
    if (r.code === Storage.KEY_NOT_FOUND) return false;
    throw new Error(`Known(${this.name}).has: ${r.code}${r.error_str ? ": " + r.error_str : ""}`);
  }

  // close closes the backing store.
  async close() {
    if (!this.handle) return;
    const h = this.handle;
    this.handle = null;
    this.opening = null;
    await Storage.Async.close_backend(h);
  }
}

module.exports = { Known };
