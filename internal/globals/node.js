// Node.js compatibility of scriptd: goja_nodejs's Buffer completed to
// Node.js 20's (every string encoding, slice, fill, write, indexOf, copy,
// compare, toJSON, ...), and the "buffer", "url" and "util" modules. Run
// once per version by node.go after web.js; returns the modules' exports.
(function (native, global, web, bufferExports, urlExports) {
"use strict";

const Buffer = bufferExports.Buffer;
const proto = Buffer.prototype;
const U8 = Uint8Array;
const origFrom = Buffer.from;
const origAlloc = Buffer.alloc;

// ---------------------------------------------------------------- encodings

const encodings = {
  utf8: "utf8", "utf-8": "utf8", hex: "hex", base64: "base64", base64url: "base64url",
  latin1: "latin1", binary: "latin1", ascii: "ascii",
  utf16le: "utf16le", "utf-16le": "utf16le", ucs2: "utf16le", "ucs-2": "utf16le",
};
function normEncoding(enc) {
  if (enc === undefined || enc === null || enc === "") return "utf8";
  const e = encodings[String(enc).toLowerCase()];
  if (!e) {
    const err = new TypeError(`Unknown encoding: ${String(enc)}`);
    err.code = "ERR_UNKNOWN_ENCODING";
    throw err;
  }
  return e;
}
const isEncoding = (enc) => typeof enc === "string" && enc !== "" && encodings[enc.toLowerCase()] !== undefined;

const missingArgs = (fn, n, got) => {
  if (got < n) {
    const e = new TypeError(`${fn}: ${n} argument${n > 1 ? "s" : ""} required, but only ${got} present.`);
    e.code = "ERR_MISSING_ARGS";
    throw e;
  }
};
const wrap = (ab) => origFrom(ab); // a Buffer over the whole ArrayBuffer
const fromString = (s, enc) => wrap(native.bufferEncode(String(s), normEncoding(enc)));
const argType = (name, what, v) => {
  const e = new TypeError(`The "${name}" argument must be ${what}. Received ${v === null ? "null" : typeof v}`);
  e.code = "ERR_INVALID_ARG_TYPE";
  return e;
};
const outOfRange = (name, v) => {
  const e = new RangeError(`The value of "${name}" is out of range. Received ${v}`);
  e.code = "ERR_OUT_OF_RANGE";
  return e;
};
const checkSize = (size) => {
  if (typeof size !== "number") throw argType("size", "of type number", size);
  if (!(size >= 0 && size <= 2 ** 32)) throw outOfRange("size", size);
};

// ---------------------------------------------------------------- Buffer statics

Object.defineProperty(Buffer, "from", { writable: true, configurable: true, value: function from(value, encodingOrOffset, length) {
  if (typeof value === "string") return fromString(value, encodingOrOffset);
  if (value instanceof ArrayBuffer) {
    const off = encodingOrOffset === undefined ? 0 : Math.trunc(Number(encodingOrOffset)) || 0;
    const len = length === undefined ? value.byteLength - off : Math.trunc(Number(length)) || 0;
    if (off < 0 || off > value.byteLength) throw outOfRange("offset", encodingOrOffset);
    if (len < 0 || off + len > value.byteLength) throw outOfRange("length", length);
    return origFrom(value, off, len);
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    if (value instanceof U8) return wrap(native.copyBytes(value).buffer);
    return origFrom(Array.from(value, Number));
  }
  if (value !== null && typeof value === "object" && value.type === "Buffer" && Array.isArray(value.data)) {
    return origFrom(value.data);
  }
  return origFrom(value, encodingOrOffset, length);
} });

Object.defineProperty(Buffer, "alloc", { writable: true, configurable: true, value: function alloc(size, fill, encoding) {
  checkSize(size);
  const b = origAlloc(size);
  if (fill !== undefined && fill !== 0 && size > 0) b.fill(fill, 0, size, encoding);
  return b;
} });
Buffer.allocUnsafe = function allocUnsafe(size) { checkSize(size); return origAlloc(size); };
Buffer.allocUnsafeSlow = function allocUnsafeSlow(size) { checkSize(size); return origAlloc(size); };
Buffer.isBuffer = function isBuffer(obj) { return obj instanceof Buffer; };
Buffer.isEncoding = isEncoding;
Buffer.byteLength = function byteLength(string, encoding) {
  if (typeof string !== "string") {
    if (string instanceof ArrayBuffer || ArrayBuffer.isView(string)) return string.byteLength;
    throw argType("string", "of type string or an instance of Buffer or ArrayBuffer", string);
  }
  return native.bufferEncode(string, normEncoding(encoding)).byteLength;
};
function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
Buffer.compare = function compare(a, b) {
  if (!(a instanceof U8)) throw argType("buf1", "an instance of Buffer or Uint8Array", a);
  if (!(b instanceof U8)) throw argType("buf2", "an instance of Buffer or Uint8Array", b);
  return compareBytes(a, b);
};
// Typed array methods making new arrays (map, filter, slice of
// Uint8Array.prototype, Buffer.of) construct through the species.
function BufferSpecies(a, b, c) {
  if (typeof a === "number") return origAlloc(a);
  return origFrom(a, b, c);
}
BufferSpecies.prototype = proto;
Object.defineProperty(Buffer, Symbol.species, { get() { return BufferSpecies; }, configurable: true });
Buffer.of = function of(...items) { return origFrom(items); };

// ---------------------------------------------------------------- Buffer.prototype

const method = (name, fn) => Object.defineProperty(proto, name, { value: fn, writable: true, configurable: true, enumerable: false });
const clampRange = (len, start, end) => {
  start = start === undefined ? 0 : Math.trunc(Number(start)) || 0;
  end = end === undefined ? len : Math.trunc(Number(end)) || 0;
  if (start < 0) start = Math.max(len + start, 0);
  if (end < 0) end = Math.max(len + end, 0);
  return [Math.min(start, len), Math.min(end, len)];
};

method("toString", function toString(encoding, start, end) {
  const len = this.length;
  start = start === undefined ? 0 : Math.max(Math.trunc(Number(start)) || 0, 0);
  end = end === undefined ? len : Math.min(Math.trunc(Number(end)) || 0, len);
  if (start >= len || end <= start) return "";
  return native.bufferDecode(this.subarray(start, end), normEncoding(encoding));
});
method("toLocaleString", proto.toString);
method("toJSON", function toJSON() { return { type: "Buffer", data: Array.from(this) }; });
method("slice", function slice(start, end) {
  const [s, e] = clampRange(this.length, start, end);
  return origFrom(this.buffer, this.byteOffset + s, Math.max(e - s, 0));
});
method("subarray", proto.slice);
method("equals", function equals(other) {
  if (!(other instanceof U8)) throw argType("otherBuffer", "an instance of Buffer or Uint8Array", other);
  return compareBytes(this, other) === 0;
});
method("compare", function compare(target, targetStart = 0, targetEnd = target.length, sourceStart = 0, sourceEnd = this.length) {
  if (!(target instanceof U8)) throw argType("target", "an instance of Buffer or Uint8Array", target);
  return compareBytes(this.subarray(sourceStart, sourceEnd), target.subarray(targetStart, targetEnd));
});
method("copy", function copy(target, targetStart = 0, sourceStart = 0, sourceEnd = this.length) {
  if (!(target instanceof U8)) throw argType("target", "an instance of Buffer or Uint8Array", target);
  targetStart = Math.max(Math.trunc(Number(targetStart)) || 0, 0);
  sourceStart = Math.max(Math.trunc(Number(sourceStart)) || 0, 0);
  sourceEnd = Math.min(Math.trunc(Number(sourceEnd)) || 0, this.length);
  if (targetStart >= target.length || sourceStart >= sourceEnd) return 0;
  const n = Math.min(sourceEnd - sourceStart, target.length - targetStart);
  target.set(U8.prototype.subarray.call(this, sourceStart, sourceStart + n), targetStart);
  return n;
});
method("fill", function fill(value, offset, end, encoding) {
  if (typeof offset === "string") { encoding = offset; offset = 0; end = this.length; }
  else if (typeof end === "string") { encoding = end; end = this.length; }
  const [s, e] = clampRange(this.length, offset, end);
  if (e <= s) return this;
  let bytes;
  if (typeof value === "string") {
    bytes = native.bufferEncode(value, normEncoding(encoding));
    bytes = new U8(bytes);
    if (bytes.length === 0) {
      if (value.length === 0) bytes = new U8([0]);
      else {
        const err = new TypeError(`The argument 'value' is invalid. Received '${value}'`);
        err.code = "ERR_INVALID_ARG_VALUE";
        throw err;
      }
    }
  } else if (value instanceof U8) {
    bytes = value;
  } else {
    U8.prototype.fill.call(this, Number(value) & 255, s, e);
    return this;
  }
  for (let i = s, j = 0; i < e; i++, j = (j + 1) % bytes.length) this[i] = bytes[j];
  return this;
});
method("write", function write(string, offset, length, encoding) {
  if (typeof string !== "string") throw argType("argument", "of type string", string);
  if (typeof offset === "string") { encoding = offset; offset = 0; length = this.length; }
  else if (typeof length === "string") { encoding = length; length = this.length - (offset || 0); }
  offset = offset === undefined ? 0 : Math.trunc(Number(offset)) || 0;
  if (offset < 0 || offset > this.length) throw outOfRange("offset", offset);
  const room = this.length - offset;
  length = length === undefined ? room : Math.min(Math.max(Math.trunc(Number(length)) || 0, 0), room);
  const enc = normEncoding(encoding);
  let bytes = new U8(native.bufferEncode(string, enc));
  if (bytes.length > length) {
    let n = length;
    if (enc === "utf8") {
      // Whole characters only.
      while (n > 0 && (bytes[n] & 0xc0) === 0x80) n--;
    } else if (enc === "utf16le") {
      n -= n % 2;
    }
    bytes = bytes.subarray(0, n);
  }
  U8.prototype.set.call(this, bytes, offset);
  return bytes.length;
});
function needleBytes(value, encoding) {
  if (typeof value === "string") return new U8(native.bufferEncode(value, normEncoding(encoding)));
  if (value instanceof U8) return value;
  if (typeof value === "number") return new U8([value & 255]);
  throw argType("value", "one of type number or string or an instance of Buffer or Uint8Array", value);
}
function indexOf(buf, value, byteOffset, encoding, last) {
  if (typeof byteOffset === "string") { encoding = byteOffset; byteOffset = undefined; }
  const needle = needleBytes(value, encoding);
  const len = buf.length;
  let from = byteOffset === undefined ? (last ? len : 0) : Math.trunc(Number(byteOffset)) || 0;
  if (from < 0) from += len;
  if (needle.length === 0) return Math.min(Math.max(from, 0), len);
  const match = (i) => {
    for (let j = 0; j < needle.length; j++) if (buf[i + j] !== needle[j]) return false;
    return true;
  };
  if (last) {
    for (let i = Math.min(from, len - needle.length); i >= 0; i--) if (match(i)) return i;
  } else {
    for (let i = Math.max(from, 0); i <= len - needle.length; i++) if (match(i)) return i;
  }
  return -1;
}
method("indexOf", function (value, byteOffset, encoding) { return indexOf(this, value, byteOffset, encoding, false); });
method("lastIndexOf", function (value, byteOffset, encoding) { return indexOf(this, value, byteOffset, encoding, true); });
method("includes", function (value, byteOffset, encoding) { return indexOf(this, value, byteOffset, encoding, false) !== -1; });
const swapper = (size) => function () {
  if (this.length % size !== 0) {
    const e = new RangeError(`Buffer size must be a multiple of ${size * 8}-bits`);
    e.code = "ERR_INVALID_BUFFER_SIZE";
    throw e;
  }
  for (let i = 0; i < this.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = this[a];
      this[a] = this[b];
      this[b] = t;
    }
  }
  return this;
};
// Node.js's rendering, for util.inspect and console.log where they honour
// util.inspect.custom.
const kInspect = Symbol.for("nodejs.util.inspect.custom");
method(kInspect, function () {
  const shown = Array.from(U8.prototype.subarray.call(this, 0, 50), (c) => (c < 16 ? "0" : "") + c.toString(16)).join(" ");
  const more = this.length > 50 ? ` ... ${this.length - 50} more byte${this.length - 50 > 1 ? "s" : ""}` : "";
  return `<Buffer${shown ? " " + shown : ""}${more}>`;
});
method("swap16", swapper(2));
method("swap32", swapper(4));
method("swap64", swapper(8));

// ---------------------------------------------------------------- the buffer module

const kMaxLength = 2 ** 32;
const buffer = {
  Buffer,
  atob: web.atob,
  btoa: web.btoa,
  constants: { MAX_LENGTH: kMaxLength, MAX_STRING_LENGTH: 2 ** 29 - 24 },
  kMaxLength,
  kStringMaxLength: 2 ** 29 - 24,
  INSPECT_MAX_BYTES: 50,
  isUtf8: (input) => native.isUtf8(input),
  isAscii: (input) => {
    const b = new U8(input instanceof ArrayBuffer ? input : input.buffer, input.byteOffset || 0, input.byteLength);
    return b.every((c) => c < 0x80);
  },
};

// ---------------------------------------------------------------- the url module

// goja_nodejs's href does not see pending searchParams changes and its
// origin drops the port; its properties cannot be redefined, so URL is a
// subclass reading them as Node.js does.
const NativeURL = urlExports.URL;
const specialSchemes = new Set(["http:", "https:", "ws:", "wss:", "ftp:"]);
class URL extends NativeURL {
  constructor(input, base = undefined) {
    missingArgs("URL", 1, arguments.length);
    if (base === undefined) {
      super(String(input));
      return;
    }
    // goja_nodejs cleans a relative reference's path before resolving it
    // ("../d" against /a/b/c gives /d): resolve it in Go (RFC 3986).
    const resolved = native.resolveURL(String(input), new NativeURL(String(base)).href);
    if (resolved === null) {
      const e = new TypeError("Invalid URL");
      e.code = "ERR_INVALID_URL";
      e.input = String(input);
      throw e;
    }
    super(resolved);
  }
  get href() {
    void this.search; // brings the query up to date with searchParams
    return super.href;
  }
  set href(v) { super.href = v; }
  get origin() {
    const p = this.protocol;
    if (specialSchemes.has(p)) return p + "//" + this.host;
    if (p === "blob:") {
      try {
        const inner = new URL(this.pathname);
        if (inner.protocol === "http:" || inner.protocol === "https:") return inner.origin;
      } catch {}
    }
    return "null";
  }
  [Symbol.for("nodejs.util.inspect.custom")]() {
    return `URL { href: '${this.href}' }`;
  }
  static canParse(input, base = undefined) {
    try {
      if (base === undefined) new URL(String(input));
      else new URL(String(input), String(base));
      return true;
    } catch {
      return false;
    }
  }
}
Object.defineProperty(URL, "name", { value: "URL" });
Object.defineProperty(URL.prototype, Symbol.toStringTag, { value: "URL", configurable: true });
Object.defineProperty(global, "URL", { value: URL, writable: true, configurable: true, enumerable: false });
const url = {
  URL,
  URLSearchParams: urlExports.URLSearchParams,
  domainToASCII: urlExports.domainToASCII,
  domainToUnicode: urlExports.domainToUnicode,
  fileURLToPath(u) {
    const p = typeof u === "string" ? new URL(u) : u;
    if (!(p instanceof URL)) throw argType("path", "of type string or an instance of URL", u);
    if (p.protocol !== "file:") {
      const e = new TypeError("The URL must be of scheme file");
      e.code = "ERR_INVALID_URL_SCHEME";
      throw e;
    }
    return decodeURIComponent(p.pathname);
  },
  pathToFileURL(path) {
    const p = String(path);
    if (!p.startsWith("/")) throw new TypeError(`pathToFileURL: the path must be absolute, got "${p}"`);
    return new URL("file://" + p.split("/").map(encodeURIComponent).join("/"));
  },
  format(u) { return u instanceof URL ? u.href : String(u); },
};

// ---------------------------------------------------------------- the util module

const toStr = (v) => Object.prototype.toString.call(v);
const tagIs = (tag) => (v) => v !== null && (typeof v === "object" || typeof v === "function") && toStr(v) === `[object ${tag}]`;
const typedArrayProto = Object.getPrototypeOf(Int8Array.prototype);
const typedArrayTag = Object.getOwnPropertyDescriptor(typedArrayProto, Symbol.toStringTag).get;
const taTag = (v) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? typedArrayTag.call(v) : undefined);
const types = {
  isAnyArrayBuffer: (v) => v instanceof ArrayBuffer,
  isArrayBuffer: (v) => v instanceof ArrayBuffer,
  isArrayBufferView: (v) => ArrayBuffer.isView(v),
  isAsyncFunction: (v) => typeof v === "function" && (toStr(v) === "[object AsyncFunction]" || /^\s*async\b/.test(Function.prototype.toString.call(v))),
  isBigInt64Array: (v) => taTag(v) === "BigInt64Array",
  isBigUint64Array: (v) => taTag(v) === "BigUint64Array",
  isBooleanObject: (v) => typeof v === "object" && v !== null && toStr(v) === "[object Boolean]",
  isBoxedPrimitive: (v) => typeof v === "object" && v !== null && ["Boolean", "Number", "String", "Symbol", "BigInt"].some((t) => tagIs(t)(v)),
  isDataView: (v) => v instanceof DataView,
  isDate: (v) => v instanceof Date,
  isFloat32Array: (v) => taTag(v) === "Float32Array",
  isFloat64Array: (v) => taTag(v) === "Float64Array",
  isGeneratorFunction: (v) => typeof v === "function" && toStr(v) === "[object GeneratorFunction]",
  isGeneratorObject: tagIs("Generator"),
  isInt8Array: (v) => taTag(v) === "Int8Array",
  isInt16Array: (v) => taTag(v) === "Int16Array",
  isInt32Array: (v) => taTag(v) === "Int32Array",
  isMap: (v) => v instanceof Map,
  isMapIterator: tagIs("Map Iterator"),
  isNativeError: (v) => v instanceof Error,
  isNumberObject: (v) => typeof v === "object" && v !== null && toStr(v) === "[object Number]",
  isPromise: (v) => v instanceof Promise,
  isRegExp: (v) => v instanceof RegExp,
  isSet: (v) => v instanceof Set,
  isSetIterator: tagIs("Set Iterator"),
  isStringObject: (v) => typeof v === "object" && v !== null && toStr(v) === "[object String]",
  isSymbolObject: (v) => typeof v === "object" && v !== null && toStr(v) === "[object Symbol]",
  isTypedArray: (v) => taTag(v) !== undefined,
  isUint8Array: (v) => taTag(v) === "Uint8Array",
  isUint8ClampedArray: (v) => taTag(v) === "Uint8ClampedArray",
  isUint16Array: (v) => taTag(v) === "Uint16Array",
  isUint32Array: (v) => taTag(v) === "Uint32Array",
  isWeakMap: (v) => v instanceof WeakMap,
  isWeakSet: (v) => v instanceof WeakSet,
};

function isDeepStrictEqual(a, b) {
  const seen = new Map();
  const eq = (x, y) => {
    if (Object.is(x, y)) return true;
    if (typeof x !== "object" || typeof y !== "object" || x === null || y === null) return false;
    if (Object.getPrototypeOf(x) !== Object.getPrototypeOf(y)) return false;
    if (toStr(x) !== toStr(y)) return false;
    let pairs = seen.get(x);
    if (pairs && pairs.has(y)) return true;
    if (!pairs) seen.set(x, (pairs = new Set()));
    pairs.add(y);
    if (x instanceof Date) { if (x.getTime() !== y.getTime() && !(isNaN(x) && isNaN(y))) return false; }
    else if (x instanceof RegExp) { if (String(x) !== String(y) || x.lastIndex !== y.lastIndex) return false; }
    else if (x instanceof Error) { if (x.message !== y.message || x.name !== y.name) return false; }
    else if (ArrayBuffer.isView(x) || x instanceof ArrayBuffer) {
      const xa = new U8(x instanceof ArrayBuffer ? x : x.buffer, x.byteOffset || 0, x.byteLength);
      const ya = new U8(y instanceof ArrayBuffer ? y : y.buffer, y.byteOffset || 0, y.byteLength);
      if (xa.length !== ya.length || compareBytes(xa, ya) !== 0) return false;
    } else if (tagIs("Boolean")(x) || tagIs("Number")(x) || tagIs("String")(x) || tagIs("BigInt")(x)) {
      if (!Object.is(x.valueOf(), y.valueOf())) return false;
    }
    if (x instanceof Map) {
      if (x.size !== y.size) return false;
      for (const [k, v] of x) {
        if (y.has(k)) {
          if (!eq(v, y.get(k))) return false;
          continue;
        }
        if (typeof k !== "object" || k === null) return false;
        let found = false;
        for (const [k2, v2] of y) {
          if (eq(k, k2) && eq(v, v2)) { found = true; break; }
        }
        if (!found) return false;
      }
    } else if (x instanceof Set) {
      if (x.size !== y.size) return false;
      for (const v of x) {
        if (y.has(v)) continue;
        if (typeof v !== "object" || v === null) return false;
        let found = false;
        for (const v2 of y) {
          if (eq(v, v2)) { found = true; break; }
        }
        if (!found) return false;
      }
    }
    const kx = Object.keys(x), ky = Object.keys(y);
    if (kx.length !== ky.length) return false;
    for (const k of kx) {
      if (!Object.prototype.propertyIsEnumerable.call(y, k) || !eq(x[k], y[k])) return false;
    }
    const sx = Object.getOwnPropertySymbols(x).filter((s) => Object.prototype.propertyIsEnumerable.call(x, s));
    const sy = Object.getOwnPropertySymbols(y).filter((s) => Object.prototype.propertyIsEnumerable.call(y, s));
    if (sx.length !== sy.length) return false;
    for (const s of sx) if (!eq(x[s], y[s])) return false;
    return true;
  };
  return eq(a, b);
}

const kCustomPromisify = Symbol.for("nodejs.util.promisify.custom");
function promisify(original) {
  if (typeof original !== "function") throw argType("original", "of type function", original);
  if (typeof original[kCustomPromisify] === "function") return original[kCustomPromisify];
  function fn(...args) {
    return new Promise((resolve, reject) => {
      original.call(this, ...args, (err, ...values) => {
        if (err) reject(err);
        else resolve(values.length > 1 ? values : values[0]);
      });
    });
  }
  Object.setPrototypeOf(fn, Object.getPrototypeOf(original));
  Object.defineProperty(fn, kCustomPromisify, { value: fn, enumerable: false, writable: false, configurable: true });
  return Object.defineProperties(fn, Object.getOwnPropertyDescriptors(original));
}
promisify.custom = kCustomPromisify;

function callbackify(original) {
  if (typeof original !== "function") throw argType("original", "of type function", original);
  return function (...args) {
    const cb = args.pop();
    if (typeof cb !== "function") throw argType("last argument", "of type function", cb);
    Promise.resolve(original.apply(this, args)).then(
      (v) => queueMicrotask(() => cb(null, v)),
      (e) => queueMicrotask(() => {
        if (!e) {
          const wrapped = new Error("Promise was rejected with a falsy value");
          wrapped.code = "ERR_FALSY_VALUE_REJECTION";
          wrapped.reason = e;
          e = wrapped;
        }
        cb(e);
      }));
  };
}

function inherits(ctor, superCtor) {
  if (typeof ctor !== "function") throw argType("ctor", "of type function", ctor);
  if (typeof superCtor !== "function") throw argType("superCtor", "of type function", superCtor);
  if (superCtor.prototype === undefined) throw argType("superCtor.prototype", "of type object", superCtor.prototype);
  Object.defineProperty(ctor, "super_", { value: superCtor, writable: true, configurable: true });
  Object.setPrototypeOf(ctor.prototype, superCtor.prototype);
}

const warned = new Set();
function deprecate(fn, msg, code = undefined) {
  if (typeof fn !== "function") throw argType("fn", "of type function", fn);
  return function (...args) {
    const key = code || msg;
    if (!warned.has(key)) {
      warned.add(key);
      console.warn(`DeprecationWarning: ${msg}`);
    }
    return new.target ? Reflect.construct(fn, args, new.target) : fn.apply(this, args);
  };
}

function inspect(value, opts = undefined, depthArg = undefined) {
  let depth = 2;
  if (opts !== null && typeof opts === "object" && "depth" in opts) depth = opts.depth;
  else if (depthArg !== undefined) depth = depthArg;
  if (depth === null || depth === Infinity) depth = 1000;
  if (value !== null && (typeof value === "object" || typeof value === "function") && typeof value[inspect.custom] === "function") {
    const custom = value[inspect.custom](depth, { depth }, inspect);
    if (custom !== value) return typeof custom === "string" ? custom : inspect(custom, { depth });
  }
  return native.inspect(value, Math.trunc(Number(depth)) || 0);
}
inspect.custom = Symbol.for("nodejs.util.inspect.custom");
inspect.defaultOptions = { depth: 2 };

const util = {
  format: (...args) => native.format(...args),
  formatWithOptions: (opts, ...args) => native.format(...args),
  inspect,
  promisify,
  callbackify,
  inherits,
  deprecate,
  isDeepStrictEqual,
  types,
  isArray: Array.isArray,
  isError: (v) => v instanceof Error,
  stripVTControlCharacters: (s) => String(s).replace(/\u001b\[[0-9;?]*[ -/]*[@-~]|\u009b[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007]*\u0007/g, ""),
  toUSVString: (s) => String(s).replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"),
  TextEncoder: web.TextEncoder,
  TextDecoder: web.TextDecoder,
};

return { buffer, url, util };
})
