// The web platform globals of scriptd (SPEC §2), as in Node.js 20: run once
// per version of the scripts by web.go with its Go natives. Returns the
// internals other code needs (makeFetch for FetchExtension, the classes
// node.js exports from its modules).
(function (native, global) {
"use strict";

const defineGlobal = (name, value) => {
  Object.defineProperty(global, name, { value, writable: true, configurable: true, enumerable: false });
};
const toStr = (v) => Object.prototype.toString.call(v);
const missingArgs = (fn, n, got) => {
  if (got < n) {
    throw new TypeError(`${fn}: ${n} argument${n > 1 ? "s" : ""} required, but only ${got} present.`);
  }
};

// ---------------------------------------------------------------- DOMException

const domCodes = {
  IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
  NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11,
  SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
  TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
  QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
};

class DOMException extends Error {
  #name;
  constructor(message = "", options = "Error") {
    super(String(message));
    if (options !== null && typeof options === "object") {
      this.#name = options.name === undefined ? "Error" : String(options.name);
      if ("cause" in options) {
        Object.defineProperty(this, "cause", { value: options.cause, writable: true, configurable: true, enumerable: false });
      }
    } else {
      this.#name = String(options);
    }
  }
  get name() { return this.#name; }
  get code() { return domCodes[this.#name] || 0; }
}
Object.defineProperty(DOMException.prototype, Symbol.toStringTag, { value: "DOMException", configurable: true });
for (const [name, code] of Object.entries(domCodes)) {
  const constName = name.replace(/Error$/, "").replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase() + "_ERR";
  Object.defineProperty(DOMException, constName, { value: code, enumerable: true });
  Object.defineProperty(DOMException.prototype, constName, { value: code, enumerable: true });
}

// ---------------------------------------------------------------- Event, EventTarget

const kStop = Symbol("stopImmediatePropagation");
class Event {
  #type; #cancelable; #bubbles; #defaultPrevented = false; #target = null; #timeStamp;
  constructor(type, init = undefined) {
    missingArgs("Event", 1, arguments.length);
    this.#type = String(type);
    this.#bubbles = !!(init && init.bubbles);
    this.#cancelable = !!(init && init.cancelable);
    this.#timeStamp = Date.now();
    this[kStop] = false;
  }
  get type() { return this.#type; }
  get bubbles() { return this.#bubbles; }
  get cancelable() { return this.#cancelable; }
  get defaultPrevented() { return this.#defaultPrevented; }
  get target() { return this.#target; }
  get currentTarget() { return this.#target; }
  get srcElement() { return this.#target; }
  get timeStamp() { return this.#timeStamp; }
  get isTrusted() { return false; }
  get eventPhase() { return this.#target ? 2 : 0; }
  composedPath() { return this.#target ? [this.#target] : []; }
  preventDefault() { if (this.#cancelable) this.#defaultPrevented = true; }
  stopPropagation() {}
  stopImmediatePropagation() { this[kStop] = true; }
  static _setTarget(ev, t) { ev.#target = t; }
}
const setEventTarget = Event._setTarget;
delete Event._setTarget;

class EventTarget {
  #listeners = new Map(); // type -> [{fn, once, capture}]
  addEventListener(type, listener, options = undefined) {
    missingArgs("EventTarget.addEventListener", 2, arguments.length);
    if (listener === null || listener === undefined) return;
    const capture = typeof options === "boolean" ? options : !!(options && options.capture);
    const once = !!(options && typeof options === "object" && options.once);
    const signal = options && typeof options === "object" ? options.signal : undefined;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError("EventTarget.addEventListener: options.signal must be an AbortSignal");
    }
    if (signal && signal.aborted) return;
    type = String(type);
    let list = this.#listeners.get(type);
    if (!list) this.#listeners.set(type, (list = []));
    if (list.some((l) => l.fn === listener && l.capture === capture)) return;
    const entry = { fn: listener, once, capture, removed: false };
    list.push(entry);
    if (signal) {
      signal.addEventListener("abort", () => this.removeEventListener(type, listener, { capture }), { once: true });
    }
  }
  removeEventListener(type, listener, options = undefined) {
    missingArgs("EventTarget.removeEventListener", 2, arguments.length);
    const capture = typeof options === "boolean" ? options : !!(options && options.capture);
    const list = this.#listeners.get(String(type));
    if (!list) return;
    const i = list.findIndex((l) => l.fn === listener && l.capture === capture);
    if (i >= 0) {
      list[i].removed = true;
      list.splice(i, 1);
    }
  }
  dispatchEvent(event) {
    if (!(event instanceof Event)) {
      throw new TypeError("EventTarget.dispatchEvent: the event must be an instance of Event");
    }
    setEventTarget(event, this);
    const handler = this["on" + event.type];
    const list = (this.#listeners.get(event.type) || []).slice();
    const call = (fn) => {
      try {
        if (typeof fn === "function") fn.call(this, event);
        else if (fn && typeof fn.handleEvent === "function") fn.handleEvent(event);
      } catch (e) {
        native.report(`${event.type} event listener`, e);
      }
    };
    if (typeof handler === "function" && this instanceof AbortSignal) call(handler);
    for (const l of list) {
      if (l.removed) continue;
      if (l.once) this.removeEventListener(event.type, l.fn, { capture: l.capture });
      call(l.fn);
      if (event[kStop]) break;
    }
    return !event.defaultPrevented;
  }
}

// ---------------------------------------------------------------- AbortController, AbortSignal

const kCreate = Symbol("create");
let abortSignal; // (signal, reason): the abort algorithm
class AbortSignal extends EventTarget {
  #aborted = false;
  #reason = undefined;
  constructor(key) {
    if (key !== kCreate) throw new TypeError("Illegal constructor");
    super();
    this.onabort = null;
  }
  get aborted() { return this.#aborted; }
  get reason() { return this.#reason; }
  throwIfAborted() {
    if (this.#aborted) throw this.#reason;
  }
  static abort(reason = undefined) {
    const s = new AbortSignal(kCreate);
    abortSignal(s, reason);
    return s;
  }
  static timeout(ms) {
    missingArgs("AbortSignal.timeout", 1, arguments.length);
    const n = Number(ms);
    if (!Number.isFinite(n) || n < 0 || n > Number.MAX_SAFE_INTEGER) {
      throw new TypeError(`AbortSignal.timeout: the "delay" argument must be a non-negative finite number, got ${String(ms)}`);
    }
    const s = new AbortSignal(kCreate);
    native.timer(Math.trunc(n), () => {
      abortSignal(s, new DOMException("The operation was aborted due to timeout", "TimeoutError"));
    });
    return s;
  }
  static any(signals) {
    missingArgs("AbortSignal.any", 1, arguments.length);
    const list = Array.from(signals);
    for (const s of list) {
      if (!(s instanceof AbortSignal)) throw new TypeError("AbortSignal.any: every element must be an AbortSignal");
    }
    const out = new AbortSignal(kCreate);
    const done = list.find((s) => s.aborted);
    if (done) {
      abortSignal(out, done.reason);
      return out;
    }
    for (const s of list) {
      s.addEventListener("abort", () => abortSignal(out, s.reason), { once: true });
    }
    return out;
  }
  static {
    abortSignal = (s, reason) => {
      if (s.#aborted) return;
      s.#aborted = true;
      s.#reason = reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason;
      s.dispatchEvent(new Event("abort"));
    };
  }
}

class AbortController {
  #signal = new AbortSignal(kCreate);
  get signal() { return this.#signal; }
  abort(reason = undefined) { abortSignal(this.#signal, reason); }
}

// ---------------------------------------------------------------- atob, btoa

function atob(data) {
  missingArgs("atob", 1, arguments.length);
  const out = native.atob(String(data));
  if (out === null) throw new DOMException("The string to be decoded is not correctly encoded.", "InvalidCharacterError");
  return out;
}
function btoa(data) {
  missingArgs("btoa", 1, arguments.length);
  const out = native.btoa(String(data));
  if (out === null) throw new DOMException("Invalid character", "InvalidCharacterError");
  return out;
}

// ---------------------------------------------------------------- TextEncoder, TextDecoder

class TextEncoder {
  get encoding() { return "utf-8"; }
  encode(input = "") { return native.encode(String(input)); }
  encodeInto(src, dest) {
    missingArgs("TextEncoder.encodeInto", 2, arguments.length);
    if (!(dest instanceof Uint8Array)) throw new TypeError("TextEncoder.encodeInto: the destination must be a Uint8Array");
    const [read, written] = native.encodeInto(String(src), dest);
    return { read, written };
  }
}

class TextDecoder {
  #enc; #fatal; #ignoreBOM; #state;
  constructor(label = "utf-8", options = undefined) {
    const enc = native.encodingName(String(label));
    if (enc === null) throw new RangeError(`The "${String(label)}" encoding is not supported`);
    this.#enc = enc;
    this.#fatal = !!(options && options.fatal);
    this.#ignoreBOM = !!(options && options.ignoreBOM);
    this.#state = native.newDecoder(enc, this.#fatal, this.#ignoreBOM);
  }
  get encoding() { return this.#enc; }
  get fatal() { return this.#fatal; }
  get ignoreBOM() { return this.#ignoreBOM; }
  decode(input = undefined, options = undefined) {
    if (input !== undefined && input !== null && !native.isBufferSource(input)) {
      throw new TypeError('TextDecoder.decode: the "input" argument must be an ArrayBuffer or an ArrayBufferView');
    }
    const out = native.decode(this.#state, input, !!(options && options.stream));
    if (out === null) {
      const e = new TypeError(`The encoded data was not valid for encoding ${this.#enc}`);
      e.code = "ERR_ENCODING_INVALID_ENCODED_DATA";
      throw e;
    }
    return out;
  }
}

const utf8Decode = (bytes) => new TextDecoder().decode(bytes);
const utf8Encode = (s) => native.encode(s);

// ---------------------------------------------------------------- structuredClone

const typedArrayNames = ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
  "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array"];
const typedArrayCtors = new Map(typedArrayNames.filter((n) => typeof global[n] === "function").map((n) => [n, global[n]]));
const errorCtors = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };

function cloneError(v) {
  let what;
  try { what = typeof v === "symbol" ? v.toString() : String(v); } catch { what = "[object]"; }
  return new DOMException(`${what} could not be cloned.`, "DataCloneError");
}

function structuredClone(value, options = undefined) {
  missingArgs("structuredClone", 1, arguments.length);
  const transfer = options && options.transfer;
  if (transfer !== undefined && transfer !== null && Array.from(transfer).length > 0) {
    throw new DOMException("structuredClone: transferring objects is not supported", "DataCloneError");
  }
  const memory = new Map();
  const clone = (v) => {
    switch (typeof v) {
      case "undefined": case "boolean": case "number": case "string": case "bigint":
        return v;
      case "symbol": case "function":
        throw cloneError(v);
    }
    if (v === null) return v;
    if (memory.has(v)) return memory.get(v);
    const tag = toStr(v).slice(8, -1);
    let out;
    if (v instanceof Date) {
      out = new Date(v.getTime());
    } else if (v instanceof RegExp) {
      out = new RegExp(v.source, v.flags);
    } else if (v instanceof ArrayBuffer) {
      out = v.slice(0);
    } else if (ArrayBuffer.isView(v)) {
      const buf = clone(v.buffer);
      if (v instanceof DataView) out = new DataView(buf, v.byteOffset, v.byteLength);
      else {
        const C = typedArrayCtors.get(tag);
        if (!C) throw cloneError(v);
        out = new C(buf, v.byteOffset, v.length);
      }
    } else if (v instanceof Map) {
      out = new Map();
      memory.set(v, out);
      for (const [k, val] of Array.from(v)) out.set(clone(k), clone(val));
      return out;
    } else if (v instanceof Set) {
      out = new Set();
      memory.set(v, out);
      for (const k of Array.from(v)) out.add(clone(k));
      return out;
    } else if (v instanceof Error) {
      const name = String(v.name);
      const C = Object.prototype.hasOwnProperty.call(errorCtors, name) ? errorCtors[name] : Error;
      out = new C(v.message === undefined ? undefined : String(v.message));
      memory.set(v, out);
      if (v.stack !== undefined) {
        Object.defineProperty(out, "stack", { value: String(v.stack), writable: true, configurable: true, enumerable: false });
      }
      if ("cause" in v) out.cause = clone(v.cause);
      return out;
    } else if (tag === "Boolean" || tag === "Number" || tag === "String" || tag === "BigInt") {
      out = Object(v.valueOf());
    } else if (Array.isArray(v)) {
      out = new Array(v.length);
      memory.set(v, out);
      for (const k of Object.keys(v)) out[k] = clone(v[k]);
      return out;
    } else if (isPlatformObject(v) || v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet || unclonableTags.has(tag)) {
      throw cloneError(v);
    } else {
      // Any other object (a class instance included) is copied as a
      // plain object of its own enumerable properties, as V8 does.
      out = {};
      memory.set(v, out);
      for (const k of Object.keys(v)) out[k] = clone(v[k]);
      return out;
    }
    memory.set(v, out);
    return out;
  };
  return clone(value);
}
const unclonableTags = new Set(["Promise", "WeakMap", "WeakSet", "WeakRef", "Symbol", "Generator", "AsyncGenerator",
  "Map Iterator", "Set Iterator", "Array Iterator", "String Iterator", "RegExp String Iterator"]);
const platformClasses = [];
const isPlatformObject = (v) => platformClasses.some((C) => v instanceof C);

// ---------------------------------------------------------------- queueMicrotask

const resolved = Promise.resolve();
function queueMicrotask(callback) {
  missingArgs("queueMicrotask", 1, arguments.length);
  if (typeof callback !== "function") {
    throw new TypeError('The "callback" argument must be of type function. Received ' + (callback === null ? "null" : typeof callback));
  }
  const where = native.caller();
  resolved.then(() => {
    try {
      callback();
    } catch (e) {
      native.report(where ? `queueMicrotask callback (${where})` : "queueMicrotask callback", e);
    }
  });
}

// ---------------------------------------------------------------- crypto

const integerArrays = new Set(["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
  "Int32Array", "Uint32Array", "BigInt64Array", "BigUint64Array"]);
class Crypto {
  constructor(key) {
    if (key !== kCreate) throw new TypeError("Illegal constructor");
  }
  getRandomValues(array) {
    missingArgs("Crypto.getRandomValues", 1, arguments.length);
    if (!ArrayBuffer.isView(array) || array instanceof DataView || !integerArrays.has(toStr(array).slice(8, -1))) {
      throw new DOMException("The data argument must be an integer-type TypedArray", "TypeMismatchError");
    }
    if (array.byteLength > 65536) {
      throw new DOMException(`The ArrayBufferView's byte length (${array.byteLength}) exceeds the number of bytes of entropy available via this API (65536)`, "QuotaExceededError");
    }
    native.fillRandom(array);
    return array;
  }
  randomUUID() { return native.randomUUID(); }
}
Object.defineProperty(Crypto.prototype, Symbol.toStringTag, { value: "Crypto", configurable: true });
const crypto = new Crypto(kCreate);

// ---------------------------------------------------------------- Headers

const tokenRe = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const checkName = (name) => {
  name = String(name);
  if (!tokenRe.test(name)) throw new TypeError(`Headers: invalid header name: "${name}"`);
  return name.toLowerCase();
};
const checkValue = (value) => {
  value = String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
  if (/[\0\r\n]/.test(value)) throw new TypeError(`Headers: invalid header value: "${value}"`);
  return value;
};

let headersList, setHeadersGuard, headersGuard;
class Headers {
  #list = []; // [lowercase name, value]
  #guard = "none";
  constructor(init = undefined) {
    if (init === undefined || init === null) return;
    if (typeof init !== "object" && typeof init !== "function") {
      throw new TypeError("Headers: the init argument must be an object, an array of pairs or a Headers");
    }
    if (init instanceof Headers) {
      for (const [n, v] of init.#list) this.#list.push([n, v]);
    } else if (typeof init[Symbol.iterator] === "function") {
      for (const pair of init) {
        const p = Array.from(pair);
        if (p.length !== 2) throw new TypeError("Headers: each header pair must be [name, value]");
        this.append(p[0], p[1]);
      }
    } else {
      for (const k of Object.keys(init)) this.append(k, init[k]);
    }
  }
  #mutable() {
    if (this.#guard === "immutable") throw new TypeError("Headers: these headers are immutable");
  }
  append(name, value) {
    missingArgs("Headers.append", 2, arguments.length);
    const n = checkName(name), v = checkValue(value);
    this.#mutable();
    this.#list.push([n, v]);
  }
  delete(name) {
    missingArgs("Headers.delete", 1, arguments.length);
    const n = checkName(name);
    this.#mutable();
    this.#list = this.#list.filter(([k]) => k !== n);
  }
  get(name) {
    missingArgs("Headers.get", 1, arguments.length);
    const n = checkName(name);
    const vals = this.#list.filter(([k]) => k === n).map(([, v]) => v);
    return vals.length ? vals.join(", ") : null;
  }
  getSetCookie() {
    return this.#list.filter(([k]) => k === "set-cookie").map(([, v]) => v);
  }
  has(name) {
    missingArgs("Headers.has", 1, arguments.length);
    const n = checkName(name);
    return this.#list.some(([k]) => k === n);
  }
  set(name, value) {
    missingArgs("Headers.set", 2, arguments.length);
    const n = checkName(name), v = checkValue(value);
    this.#mutable();
    const i = this.#list.findIndex(([k]) => k === n);
    if (i < 0) {
      this.#list.push([n, v]);
      return;
    }
    this.#list[i] = [n, v];
    this.#list = this.#list.filter(([k], j) => k !== n || j === i);
  }
  #sorted() {
    const names = [...new Set(this.#list.map(([k]) => k))].sort();
    const out = [];
    for (const n of names) {
      if (n === "set-cookie") {
        for (const v of this.getSetCookie()) out.push([n, v]);
      } else {
        out.push([n, this.get(n)]);
      }
    }
    return out;
  }
  forEach(callback, thisArg = undefined) {
    if (typeof callback !== "function") throw new TypeError("Headers.forEach: the callback must be a function");
    for (const [n, v] of this.#sorted()) callback.call(thisArg, v, n, this);
  }
  *entries() { yield* this.#sorted(); }
  *keys() { for (const [n] of this.#sorted()) yield n; }
  *values() { for (const [, v] of this.#sorted()) yield v; }
  [Symbol.iterator]() { return this.entries(); }
  static {
    headersList = (h) => h.#list;
    setHeadersGuard = (h, g) => { h.#guard = g; };
    headersGuard = (h) => h.#guard;
  }
}
Object.defineProperty(Headers.prototype, Symbol.toStringTag, { value: "Headers", configurable: true });

// ---------------------------------------------------------------- bodies

// extractBody returns [bytes (a Uint8Array or null), content type or null].
function extractBody(body) {
  if (body === undefined || body === null) return [null, null];
  if (typeof body === "string") return [utf8Encode(body), "text/plain;charset=UTF-8"];
  if (body instanceof URLSearchParams) return [utf8Encode(body.toString()), "application/x-www-form-urlencoded;charset=UTF-8"];
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return [native.copyBytes(body), null];
  return [utf8Encode(String(body)), "text/plain;charset=UTF-8"];
}

const bodyUnusable = () => new TypeError("Body is unusable: Body has already been read");

// Body is the mixin of Request and Response: the body is held whole.
class Body {
  #body = null; // Uint8Array or null
  #used = false;
  get bodyUsed() { return this.#used; }
  #take() {
    if (this.#used) return Promise.reject(bodyUnusable());
    if (this.#body !== null) this.#used = true;
    return Promise.resolve(this.#body === null ? new Uint8Array(0) : this.#body);
  }
  arrayBuffer() { return this.#take().then((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); }
  bytes() { return this.#take().then((b) => new Uint8Array(b)); }
  text() { return this.#take().then((b) => utf8Decode(b)); }
  json() { return this.text().then((t) => JSON.parse(t)); }
  static {
    Body._get = (o) => o.#body;
    Body._set = (o, b) => { o.#body = b; };
    Body._used = (o) => o.#used;
  }
}
const bodyOf = Body._get, setBody = Body._set, bodyUsed = Body._used;
delete Body._get;
delete Body._set;
delete Body._used;

// ---------------------------------------------------------------- Response

const nullBodyStatus = new Set([101, 103, 204, 205, 304]);
const redirectStatus = new Set([301, 302, 303, 307, 308]);
let initResponse;
class Response extends Body {
  #status = 200; #statusText = ""; #headers = new Headers(); #url = ""; #redirected = false; #type = "default";
  constructor(body = null, init = undefined) {
    super();
    init = init === undefined || init === null ? {} : init;
    const status = init.status === undefined ? 200 : Number(init.status);
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(`Response: the status must be an integer in the range 200 to 599, got ${init.status}`);
    }
    const statusText = init.statusText === undefined ? "" : String(init.statusText);
    if (/[^\t\x20-\x7e\x80-\xff]/.test(statusText)) throw new TypeError("Response: invalid statusText");
    this.#status = status;
    this.#statusText = statusText;
    this.#headers = new Headers(init.headers);
    if (body !== null && body !== undefined) {
      if (nullBodyStatus.has(status)) throw new TypeError(`Response: a response with status ${status} cannot have a body`);
      const [bytes, type] = extractBody(body);
      setBody(this, bytes);
      if (type !== null && !this.#headers.has("content-type")) this.#headers.append("content-type", type);
    }
  }
  get type() { return this.#type; }
  get url() { return this.#url; }
  get redirected() { return this.#redirected; }
  get status() { return this.#status; }
  get ok() { return this.#status >= 200 && this.#status <= 299; }
  get statusText() { return this.#statusText; }
  get headers() { return this.#headers; }
  clone() {
    if (bodyUsed(this)) throw bodyUnusable();
    const r = new Response(null);
    initResponse(r, this.#status, this.#statusText, this.#headers, this.#url, this.#redirected, this.#type);
    setHeadersGuard(r.headers, headersGuard(this.#headers));
    const b = bodyOf(this);
    setBody(r, b === null ? null : new Uint8Array(b));
    return r;
  }
  static error() {
    const r = new Response(null);
    initResponse(r, 0, "", new Headers(), "", false, "error");
    setHeadersGuard(r.headers, "immutable");
    return r;
  }
  static redirect(url, status = 302) {
    const u = new URL(String(url)).href;
    if (!redirectStatus.has(Number(status))) throw new RangeError(`Response.redirect: invalid redirect status ${status}`);
    const r = new Response(null);
    initResponse(r, Number(status), "", new Headers({ location: u }), "", false, "default");
    setHeadersGuard(r.headers, "immutable");
    return r;
  }
  static json(data, init = undefined) {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError("Response.json: the data is not JSON-serializable");
    const r = new Response(text, init);
    r.headers.set("content-type", "application/json");
    return r;
  }
  static {
    initResponse = (r, status, statusText, headers, url, redirected, type) => {
      r.#status = status;
      r.#statusText = statusText;
      r.#headers = new Headers(headers);
      r.#url = url;
      r.#redirected = redirected;
      r.#type = type;
    };
  }
}
Object.defineProperty(Response.prototype, Symbol.toStringTag, { value: "Response", configurable: true });

// ---------------------------------------------------------------- Request

const normalizedMethods = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"]);
const forbiddenMethods = new Set(["CONNECT", "TRACE", "TRACK"]);
const neverAborted = () => new AbortSignal(kCreate);

class Request extends Body {
  #method = "GET"; #url; #headers; #signal; #redirect = "follow";
  constructor(input, init = undefined) {
    missingArgs("Request", 1, arguments.length);
    super();
    init = init === undefined || init === null ? {} : init;
    let inherited = null;
    if (input instanceof Request) {
      inherited = input;
      this.#url = input.url;
      this.#method = input.method;
      this.#redirect = input.redirect;
    } else {
      let u;
      try {
        u = new URL(String(input));
      } catch (e) {
        throw new TypeError(`Failed to parse URL from ${String(input)}`);
      }
      if (u.username || u.password) {
        throw new TypeError(`Request cannot be constructed from a URL that includes credentials: ${String(input)}`);
      }
      this.#url = u.href;
    }
    if (init.method !== undefined) {
      const m = String(init.method);
      if (!tokenRe.test(m)) throw new TypeError(`'${m}' is not a valid HTTP method.`);
      const up = m.toUpperCase();
      if (forbiddenMethods.has(up)) throw new TypeError(`'${m}' HTTP method is unsupported.`);
      this.#method = normalizedMethods.has(up) ? up : m;
    }
    if (init.redirect !== undefined) {
      const r = String(init.redirect);
      if (r !== "follow" && r !== "error" && r !== "manual") {
        throw new TypeError(`Request: redirect must be "follow", "error" or "manual", got "${r}"`);
      }
      this.#redirect = r;
    }
    if (init.signal !== undefined && init.signal !== null && !(init.signal instanceof AbortSignal)) {
      throw new TypeError("Request: signal must be an AbortSignal");
    }
    this.#signal = init.signal || (inherited ? inherited.signal : neverAborted());
    this.#headers = new Headers(init.headers !== undefined ? init.headers : inherited ? inherited.headers : undefined);
    let bytes = null, type = null;
    if (init.body !== undefined && init.body !== null) {
      [bytes, type] = extractBody(init.body);
    } else if (inherited && bodyOf(inherited) !== null && init.body === undefined) {
      if (bodyUsed(inherited)) throw new TypeError("Request: the input request's body has already been read");
      bytes = bodyOf(inherited);
    }
    if (bytes !== null && (this.#method === "GET" || this.#method === "HEAD")) {
      throw new TypeError("Request with GET/HEAD method cannot have body.");
    }
    setBody(this, bytes);
    if (type !== null && !this.#headers.has("content-type")) this.#headers.append("content-type", type);
  }
  get method() { return this.#method; }
  get url() { return this.#url; }
  get headers() { return this.#headers; }
  get signal() { return this.#signal; }
  get redirect() { return this.#redirect; }
  get mode() { return "cors"; }
  get credentials() { return "same-origin"; }
  get cache() { return "default"; }
  get keepalive() { return false; }
  clone() {
    if (bodyUsed(this)) throw bodyUnusable();
    const b = bodyOf(this);
    return new Request(this, b === null ? undefined : { body: new Uint8Array(b) });
  }
}
Object.defineProperty(Request.prototype, Symbol.toStringTag, { value: "Request", configurable: true });
platformClasses.push(Headers, Request, Response, AbortSignal, AbortController, EventTarget, Event, Crypto);

// ---------------------------------------------------------------- fetch

// makeFetch builds fetch over a native exchange (web.go's fetchNative):
// nativeFetch(method, url, headers, body, redirect) -> [promise, cancel].
function makeFetch(nativeFetch) {
  const fetch = function fetch(input, init = undefined) {
    const argc = arguments.length;
    return new Promise((resolve, reject) => {
      missingArgs("fetch", 1, argc);
      const req = new Request(input, init);
      const signal = req.signal;
      if (signal.aborted) throw signal.reason;
      if (bodyUsed(req)) throw bodyUnusable();
      const flat = [];
      for (const [n, v] of headersList(req.headers)) flat.push(n, v);
      const [promise, cancel] = nativeFetch(req.method, req.url, flat, bodyOf(req), req.redirect);
      let settled = false;
      const onAbort = () => {
        if (settled) return;
        settled = true;
        cancel();
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      promise.then((raw) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        const headers = new Headers();
        for (let i = 0; i + 1 < raw.headers.length; i += 2) headersList(headers).push([raw.headers[i], raw.headers[i + 1]]);
        const res = new Response(null);
        initResponse(res, raw.status, raw.statusText, headers, raw.url, raw.redirected, "basic");
        setHeadersGuard(res.headers, "immutable");
        setBody(res, req.method === "HEAD" || nullBodyStatus.has(raw.status) ? null : new Uint8Array(raw.body));
        resolve(res);
      }, (err) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        if (err && err.kind === "abort") {
          reject(new DOMException(String(err.message), "AbortError"));
          return;
        }
        const msg = err && err.message !== undefined ? String(err.message) : String(err);
        reject(new TypeError(`fetch failed: ${msg}`, { cause: new Error(msg) }));
      });
    });
  };
  return fetch;
}

// ---------------------------------------------------------------- install

defineGlobal("DOMException", DOMException);
defineGlobal("Event", Event);
defineGlobal("EventTarget", EventTarget);
defineGlobal("AbortController", AbortController);
defineGlobal("AbortSignal", AbortSignal);
defineGlobal("atob", atob);
defineGlobal("btoa", btoa);
defineGlobal("TextEncoder", TextEncoder);
defineGlobal("TextDecoder", TextDecoder);
defineGlobal("structuredClone", structuredClone);
defineGlobal("queueMicrotask", queueMicrotask);
defineGlobal("Crypto", Crypto);
defineGlobal("crypto", crypto);
defineGlobal("Headers", Headers);
defineGlobal("Request", Request);
defineGlobal("Response", Response);
defineGlobal("fetch", makeFetch(native.fetch));
if (typeof global.globalThis === "undefined") defineGlobal("globalThis", global);

return { makeFetch, TextEncoder, TextDecoder, atob, btoa };
})
