// Type declarations for scriptd scripts (docs/scripts.md, docs/storage.md): the globals and the
// Storage framework. Print them with `scriptd types > scriptd.d.ts` and add
// `/// <reference path="./scriptd.d.ts" />` (or list the file in tsconfig /
// jsconfig "files") so editors complete and check scripts.

/** A Zeek log record as read from --input: field names as in the log ("id.orig_h"). */
interface ScriptdRecord {
  _path?: string;
  ts?: number | string;
  [field: string]: any;
}

/** Options of on(). */
interface OnOptions {
  /** Higher runs first; default 0. */
  priority?: number;
}

/** Lifecycle and framework events with known arguments. */
interface ScriptdEvents {
  init: () => void | Promise<void>;
  done: () => void | Promise<void>;
  "Storage.backend_opened": (tag: Storage.BackendTag, options: Storage.BackendOptions) => void | Promise<void>;
  "Storage.backend_lost": (tag: Storage.BackendTag, options: Storage.BackendOptions, reason: string) => void | Promise<void>;
  "scriptd.reload_failed": (info: { file: string; line: number; col: number; message: string }) => void | Promise<void>;
}

/** Register a handler; returns a function that removes it. */
declare function on<K extends keyof ScriptdEvents>(name: K, handler: ScriptdEvents[K], options?: OnOptions): () => void;
declare function on(name: string, handler: (record: ScriptdRecord, ...args: any[]) => void | Promise<void>, options?: OnOptions): () => void;

/** Queue an event; its handlers run after the current handler returns (Zeek's `event`). */
declare function emit(name: string, ...args: unknown[]): void;

/** Seconds or an interval string such as "250ms", "5s", "1h", "1d", "2 hrs". */
type Interval = number | string;

interface WhenOptions<T> {
  timeout?: Interval;
  timeout_body?: () => T;
}

/**
 * Call `condition` in an awaiting context, await its value and call `body(value)`;
 * if `timeout` elapses first (network time while replaying), `timeout_body()` runs instead.
 */
declare function when<C, R, T = undefined>(
  condition: () => C | Promise<C>,
  body: (value: C) => R,
  options?: WhenOptions<T>,
): Promise<Awaited<R> | T>;

/** One line on stdout: strings as-is, other values as compact JSON, separated by spaces. */
declare function print(...args: unknown[]): void;

/** Seconds since the epoch: the largest record ts seen, or wall-clock time without one. */
declare function network_time(): number;
/** Wall-clock seconds since the epoch. */
declare function current_time(): number;

declare namespace Log {
  /** Append `record` as one JSON line to `<log-dir>/<stream>.log`. */
  function write(stream: string, record: object): void;
}

declare var process: {
  readonly env: Readonly<Record<string, string | undefined>>; readonly pid: number; readonly platform: string;
  /** [the scriptd binary, the first script PATH, ...the ARGs of `scriptd run PATH... -- ARG...`]. */
  argv: string[];
};

declare namespace Storage {
  type ReturnCode =
    | "SUCCESS" | "VAL_TYPE_MISMATCH" | "KEY_TYPE_MISMATCH" | "NOT_CONNECTED" | "TIMEOUT"
    | "CONNECTION_LOST" | "OPERATION_FAILED" | "KEY_NOT_FOUND" | "KEY_EXISTS" | "CONNECTION_FAILED"
    | "DISCONNECTION_FAILED" | "INITIALIZATION_FAILED" | "IN_PROGRESS" | "SERIALIZATION_FAILED"
    | "UNSERIALIZATION_FAILED";

  const SUCCESS: "SUCCESS";
  const VAL_TYPE_MISMATCH: "VAL_TYPE_MISMATCH";
  const KEY_TYPE_MISMATCH: "KEY_TYPE_MISMATCH";
  const NOT_CONNECTED: "NOT_CONNECTED";
  const TIMEOUT: "TIMEOUT";
  const CONNECTION_LOST: "CONNECTION_LOST";
  const OPERATION_FAILED: "OPERATION_FAILED";
  const KEY_NOT_FOUND: "KEY_NOT_FOUND";
  const KEY_EXISTS: "KEY_EXISTS";
  const CONNECTION_FAILED: "CONNECTION_FAILED";
  const DISCONNECTION_FAILED: "DISCONNECTION_FAILED";
  const INITIALIZATION_FAILED: "INITIALIZATION_FAILED";
  const IN_PROGRESS: "IN_PROGRESS";
  const SERIALIZATION_FAILED: "SERIALIZATION_FAILED";
  const UNSERIALIZATION_FAILED: "UNSERIALIZATION_FAILED";

  type BackendTag = "STORAGE_BACKEND_SQLITE" | "STORAGE_BACKEND_REDIS" | (string & {});
  const STORAGE_BACKEND_SQLITE: "STORAGE_BACKEND_SQLITE";
  const STORAGE_BACKEND_REDIS: "STORAGE_BACKEND_REDIS";
  const STORAGE_SERIALIZER_JSON: "STORAGE_SERIALIZER_JSON";

  /** Zeek's Storage::OperationResult. */
  interface OperationResult<V = unknown> {
    code: ReturnCode;
    error_str?: string;
    value?: V;
  }

  /** An open backend; opaque. */
  interface BackendHandle {
    readonly backend: BackendTag;
  }

  interface SQLiteOptions {
    database_path: string;
    table_name: string;
    busy_timeout?: Interval;
    pragma_commands?: Record<string, string>;
    pragma_timeout?: Interval;
    pragma_wait_on_busy?: Interval;
  }

  interface RedisOptions {
    server_host?: string;
    server_port?: number;
    server_unix_socket?: string;
    key_prefix?: string;
    connect_timeout?: Interval;
    operation_timeout?: Interval;
    username?: string;
    password?: string;
  }

  interface BackendOptions {
    serializer?: "STORAGE_SERIALIZER_JSON";
    /** Zeek's testing switch: Async calls work outside an awaiting context. */
    forced_sync?: boolean;
    /** How often expired entries are swept (default 15 s). */
    expire_interval?: Interval;
    sqlite?: SQLiteOptions;
    redis?: RedisOptions;
    [backend: string]: unknown;
  }

  /** Key and value types: a name, a record shape, or ["vector", type]. */
  /** Zeek's types as stored by Zeek 8: time and interval are seconds, port is "80/tcp", a table is a Map. */
  type TypeName = "string" | "count" | "int" | "double" | "bool" | "addr" | "subnet" | "time" | "interval" | "port" | "enum" | "any";
  /** A record field whose type ends in "?" is optional (Zeek's &optional). */
  type FieldSpec = TypeSpec | `${TypeName}?`;
  type TypeSpec = TypeName | { [field: string]: FieldSpec } | ["vector", TypeSpec] | ["set", TypeSpec] | ["table", TypeSpec, TypeSpec];

  interface PutArgs<K, V> {
    key: K;
    value: V;
    /** Replace a live entry; default true. */
    overwrite?: boolean;
    /** How long the entry lives; 0 (default) is forever. */
    expire_time?: Interval;
  }

  /** One entry's outcome in a batch. */
  interface EntryResult<V = unknown> {
    code: ReturnCode;
    error_str?: string;
    value?: V;
  }

  interface CompareAndSwapArgs<K, V> {
    key: K;
    /** The value the entry must hold; omitted or undefined: it must be absent or expired. */
    expected?: V;
    /** The new value; omitted or undefined: a match erases the entry. */
    value?: V;
    /** The new entry's lifetime (0: forever); omitted: it keeps the replaced entry's expiry. */
    expire_time?: Interval;
  }

  interface IncrementArgs<K> {
    key: K;
    /** What to add (default 1; may be negative). */
    by?: number;
    /** Sets the entry's lifetime; omitted: an existing entry keeps its own. */
    expire_time?: Interval;
  }

  interface UpdateOptions {
    /** As for compare_and_swap. */
    expire_time?: Interval;
    /** How often fn may be called before OPERATION_FAILED (default 100). */
    max_attempts?: number;
  }

  interface ScanArgs {
    /** Keys starting with this (key type "string" only). */
    prefix?: string;
    /** The previous page's cursor. */
    cursor?: string;
    /** Entries per page (default 1000). */
    limit?: number;
  }

  interface ScanPage<K, V> {
    entries: Array<{ key: K; value: V }>;
    /** Absent when the scan is complete. */
    cursor?: string;
  }

  /** Must be called from an awaiting context (docs/scripts.md) unless the handle is forced_sync. */
  namespace Async {
    function open_backend(btype: BackendTag, options: BackendOptions, key_type: TypeSpec, val_type: TypeSpec): Promise<OperationResult<BackendHandle>>;
    function close_backend(handle: BackendHandle): Promise<OperationResult>;
    function put<K = unknown, V = unknown>(handle: BackendHandle, args: PutArgs<K, V>): Promise<OperationResult>;
    function get<V = any>(handle: BackendHandle, key: unknown): Promise<OperationResult<V>>;
    function erase(handle: BackendHandle, key: unknown): Promise<OperationResult>;
    /** Reads many keys; value: one result per key, in order (KEY_NOT_FOUND for a missing key). */
    function get_many<V = any>(handle: BackendHandle, keys: unknown[]): Promise<OperationResult<EntryResult<V>[]>>;
    /** Writes many entries in order (a repeated key: the last wins); value: one result per entry. */
    function put_many<K = unknown, V = unknown>(handle: BackendHandle, entries: PutArgs<K, V>[]): Promise<OperationResult<EntryResult[]>>;
    function erase_many(handle: BackendHandle, keys: unknown[]): Promise<OperationResult<EntryResult[]>>;
    /** Atomic against every writer of the store; KEY_EXISTS carries the current value. */
    function compare_and_swap<K = unknown, V = any>(handle: BackendHandle, args: CompareAndSwapArgs<K, V>): Promise<OperationResult<V>>;
    /** Adds `by` in one atomic step; value: the new number. */
    function increment<K = unknown>(handle: BackendHandle, args: IncrementArgs<K>): Promise<OperationResult<number>>;
    /** Optimistic read-modify-write: fn(current) (undefined when absent) returns the new value, undefined to erase; it may be async. */
    function update<V = any>(handle: BackendHandle, key: unknown, fn: (current: V | undefined) => V | undefined | Promise<V | undefined>, options?: UpdateOptions): Promise<OperationResult<V>>;
    /** One page of live entries; order unspecified. */
    function scan<K = any, V = any>(handle: BackendHandle, args?: ScanArgs): Promise<OperationResult<ScanPage<K, V>>>;
    /** Every live entry, paging through scan. */
    function entries<K = any, V = any>(handle: BackendHandle, args?: { prefix?: string; limit?: number }): AsyncIterable<{ key: K; value: V }>;
  }

  /** The same operations, blocking the event loop. */
  namespace Sync {
    function open_backend(btype: BackendTag, options: BackendOptions, key_type: TypeSpec, val_type: TypeSpec): OperationResult<BackendHandle>;
    function close_backend(handle: BackendHandle): OperationResult;
    function put<K = unknown, V = unknown>(handle: BackendHandle, args: PutArgs<K, V>): OperationResult;
    function get<V = any>(handle: BackendHandle, key: unknown): OperationResult<V>;
    function erase(handle: BackendHandle, key: unknown): OperationResult;
    function get_many<V = any>(handle: BackendHandle, keys: unknown[]): OperationResult<EntryResult<V>[]>;
    function put_many<K = unknown, V = unknown>(handle: BackendHandle, entries: PutArgs<K, V>[]): OperationResult<EntryResult[]>;
    function erase_many(handle: BackendHandle, keys: unknown[]): OperationResult<EntryResult[]>;
    function compare_and_swap<K = unknown, V = any>(handle: BackendHandle, args: CompareAndSwapArgs<K, V>): OperationResult<V>;
    function increment<K = unknown>(handle: BackendHandle, args: IncrementArgs<K>): OperationResult<number>;
    /** fn must not be async here. */
    function update<V = any>(handle: BackendHandle, key: unknown, fn: (current: V | undefined) => V | undefined, options?: UpdateOptions): OperationResult<V>;
    function scan<K = any, V = any>(handle: BackendHandle, args?: ScanArgs): OperationResult<ScanPage<K, V>>;
  }

  function is_open(handle: BackendHandle): boolean;
  function is_forced_sync(handle: BackendHandle): boolean;
}

declare function setTimeout<A extends unknown[]>(callback: (...args: A) => void | Promise<void>, ms?: number, ...args: A): number;
declare function setInterval<A extends unknown[]>(callback: (...args: A) => void | Promise<void>, ms?: number, ...args: A): number;
declare function clearTimeout(id: number | undefined): void;
declare function clearInterval(id: number | undefined): void;

declare var console: {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
};

declare var module: { exports: any };
declare var exports: any;
declare function require(id: string): any;

/** require("scriptd/known"): Zeek-style "known things" tracking on Storage. */
declare module "scriptd/known" {
  export class Known {
    constructor(opts?: {
      name?: string; key_type?: Storage.TypeSpec; expire?: Interval;
      backend?: Storage.BackendTag; options?: Storage.BackendOptions;
    });
    open(): Promise<Storage.BackendHandle>;
    /** Resolves true the first time key is seen within the expiry period. */
    add(key: unknown): Promise<boolean>;
    has(key: unknown): Promise<boolean>;
    close(): Promise<void>;
  }
}

/** require("scriptd/sumstats"): windowed counting in the spirit of Zeek's SumStats. */
declare module "scriptd/sumstats" {
  interface Epoch { epoch_start: number; epoch_end: number }
  export class SumStats {
    constructor(opts?: {
      epoch?: Interval; reducer?: "sum" | "unique"; threshold?: number;
      on_threshold?: (key: any, value: number, epoch: Epoch) => void;
      on_epoch?: (result: Map<any, number>, epoch: Epoch) => void;
    });
    observe(key: unknown, value?: unknown): number;
    value(key: unknown): number;
    flush(): void;
  }
  export function seconds(v: Interval): number;
}

// ---------------------------------------------------------------------------
// Web platform and Node.js globals (SPEC §2), as in Node.js 20.

type BufferSource = ArrayBuffer | ArrayBufferView;

/** An error of the web platform APIs: name "AbortError", "TimeoutError", "DataCloneError", ... */
declare class DOMException extends Error {
  constructor(message?: string, options?: string | { name?: string; cause?: unknown });
  readonly name: string;
  /** The legacy numeric code (AbortError 20, TimeoutError 23, DataCloneError 25, ...), 0 for none. */
  readonly code: number;
  static readonly ABORT_ERR: 20;
  static readonly TIMEOUT_ERR: 23;
  static readonly DATA_CLONE_ERR: 25;
  static readonly INVALID_CHARACTER_ERR: 5;
  static readonly QUOTA_EXCEEDED_ERR: 22;
}

declare class Event {
  constructor(type: string, init?: { bubbles?: boolean; cancelable?: boolean });
  readonly type: string;
  readonly target: EventTarget | null;
  readonly currentTarget: EventTarget | null;
  readonly cancelable: boolean;
  readonly defaultPrevented: boolean;
  readonly timeStamp: number;
  preventDefault(): void;
  stopImmediatePropagation(): void;
  stopPropagation(): void;
}
type EventListenerOrEventListenerObject = ((event: Event) => void) | { handleEvent(event: Event): void };
interface AddEventListenerOptions { once?: boolean; capture?: boolean; signal?: AbortSignal }
declare class EventTarget {
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | { capture?: boolean }): void;
  dispatchEvent(event: Event): boolean;
}

/** Aborts fetch (and whatever else listens). Obtain one from an AbortController or AbortSignal.timeout/abort/any. */
declare class AbortSignal extends EventTarget {
  private constructor();
  readonly aborted: boolean;
  /** Why it aborted: by default a DOMException named "AbortError" ("TimeoutError" for AbortSignal.timeout). */
  readonly reason: any;
  onabort: ((this: AbortSignal, event: Event) => void) | null;
  throwIfAborted(): void;
  static abort(reason?: any): AbortSignal;
  /** A signal aborting after ms milliseconds of wall-clock time (it does not keep the run alive). */
  static timeout(ms: number): AbortSignal;
  static any(signals: Iterable<AbortSignal>): AbortSignal;
}
declare class AbortController {
  readonly signal: AbortSignal;
  abort(reason?: any): void;
}

/** Decode base64 to a string of Latin-1 characters; throws an InvalidCharacterError DOMException on bad input. */
declare function atob(data: string): string;
/** Encode a string of Latin-1 characters as base64; throws an InvalidCharacterError DOMException beyond U+00FF. */
declare function btoa(data: string): string;

declare class TextEncoder {
  readonly encoding: "utf-8";
  encode(input?: string): Uint8Array;
  encodeInto(source: string, destination: Uint8Array): { read: number; written: number };
}
declare class TextDecoder {
  /** Labels of utf-8, utf-16le, utf-16be and windows-1252 ("latin1", "ascii"); others throw a RangeError. */
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  readonly encoding: string;
  readonly fatal: boolean;
  readonly ignoreBOM: boolean;
  /** With fatal, invalid input throws a TypeError; otherwise it becomes U+FFFD. */
  decode(input?: BufferSource | null, options?: { stream?: boolean }): string;
}

/** A deep copy (objects, arrays, Map, Set, Date, RegExp, typed arrays, errors; cycles kept). Functions and symbols throw a DataCloneError DOMException. */
declare function structuredClone<T>(value: T, options?: { transfer?: any[] }): T;

/** Run callback once the current task's synchronous code is done, before timers. */
declare function queueMicrotask(callback: () => void): void;

interface Crypto {
  /** Fill an integer typed array with random values (crypto/rand); at most 65536 bytes, else a QuotaExceededError DOMException. */
  getRandomValues<T extends Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array>(array: T): T;
  /** A random (version 4) UUID. */
  randomUUID(): `${string}-${string}-${string}-${string}-${string}`;
}
declare var Crypto: { prototype: Crypto };
declare var crypto: Crypto;

declare class URLSearchParams implements Iterable<[string, string]> {
  constructor(init?: string | Record<string, string | number | boolean> | Iterable<[string, string]> | URLSearchParams);
  readonly size: number;
  append(name: string, value: string): void;
  delete(name: string, value?: string): void;
  get(name: string): string | null;
  getAll(name: string): string[];
  has(name: string, value?: string): boolean;
  set(name: string, value: string): void;
  sort(): void;
  toString(): string;
  forEach(callback: (value: string, name: string, params: URLSearchParams) => void, thisArg?: any): void;
  entries(): IterableIterator<[string, string]>;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
}
declare class URL {
  /** Throws a TypeError (code ERR_INVALID_URL) for an invalid URL. */
  constructor(input: string | URL, base?: string | URL);
  static canParse(input: string | URL, base?: string | URL): boolean;
  hash: string;
  host: string;
  hostname: string;
  href: string;
  readonly origin: string;
  password: string;
  pathname: string;
  port: string;
  protocol: string;
  search: string;
  readonly searchParams: URLSearchParams;
  username: string;
  toString(): string;
  toJSON(): string;
}

type HeadersInit = Headers | Record<string, string> | Iterable<readonly [string, string]>;
/** Header names are case-insensitive; iteration is sorted by name, repeated headers combined with ", " (Set-Cookie kept apart). */
declare class Headers implements Iterable<[string, string]> {
  constructor(init?: HeadersInit);
  append(name: string, value: string): void;
  delete(name: string): void;
  get(name: string): string | null;
  getSetCookie(): string[];
  has(name: string): boolean;
  set(name: string, value: string): void;
  forEach(callback: (value: string, name: string, headers: Headers) => void, thisArg?: any): void;
  entries(): IterableIterator<[string, string]>;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
}

/** A body is held whole (responses up to the fetch body limit, 10 MiB by default). */
type BodyInit = string | ArrayBuffer | ArrayBufferView | URLSearchParams;
interface Body {
  readonly bodyUsed: boolean;
  arrayBuffer(): Promise<ArrayBuffer>;
  bytes(): Promise<Uint8Array>;
  text(): Promise<string>;
  json(): Promise<any>;
}
interface RequestInit {
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit | null;
  signal?: AbortSignal | null;
  /** "follow" (default, at most 20 redirects), "error" (a redirect rejects) or "manual" (the 3xx response is returned). */
  redirect?: "follow" | "error" | "manual";
}
declare class Request implements Body {
  constructor(input: string | URL | Request, init?: RequestInit);
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly signal: AbortSignal;
  readonly redirect: "follow" | "error" | "manual";
  readonly bodyUsed: boolean;
  arrayBuffer(): Promise<ArrayBuffer>;
  bytes(): Promise<Uint8Array>;
  text(): Promise<string>;
  json(): Promise<any>;
  clone(): Request;
}
interface ResponseInit {
  status?: number;
  statusText?: string;
  headers?: HeadersInit;
}
declare class Response implements Body {
  constructor(body?: BodyInit | null, init?: ResponseInit);
  readonly status: number;
  /** status is 200-299. */
  readonly ok: boolean;
  readonly statusText: string;
  readonly headers: Headers;
  /** The final URL, after redirects. */
  readonly url: string;
  readonly redirected: boolean;
  readonly type: "basic" | "default" | "error";
  readonly bodyUsed: boolean;
  arrayBuffer(): Promise<ArrayBuffer>;
  bytes(): Promise<Uint8Array>;
  text(): Promise<string>;
  json(): Promise<any>;
  clone(): Response;
  static error(): Response;
  static json(data: unknown, init?: ResponseInit): Response;
  static redirect(url: string | URL, status?: 301 | 302 | 303 | 307 | 308): Response;
}
/**
 * HTTP(S) request resolved off the event loop; may be called anywhere. Rejects with
 * TypeError("fetch failed: ...") on network errors, redirect-limit and body-limit
 * overruns and URLs the network policy refuses; with signal.reason on abort
 * (AbortSignal.timeout: a "TimeoutError" DOMException); with an "AbortError"
 * DOMException when the scripts are reloaded or shut down.
 */
declare function fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;

type BufferEncoding = "utf8" | "utf-8" | "hex" | "base64" | "base64url" | "latin1" | "binary" | "ascii" | "utf16le" | "utf-16le" | "ucs2" | "ucs-2";
/** Node.js's Buffer: a Uint8Array with string encodings and binary readers/writers. */
interface Buffer extends Uint8Array {
  readonly buffer: ArrayBuffer;
  toString(encoding?: BufferEncoding, start?: number, end?: number): string;
  toJSON(): { type: "Buffer"; data: number[] };
  equals(other: Uint8Array): boolean;
  compare(target: Uint8Array, targetStart?: number, targetEnd?: number, sourceStart?: number, sourceEnd?: number): -1 | 0 | 1;
  copy(target: Uint8Array, targetStart?: number, sourceStart?: number, sourceEnd?: number): number;
  /** A view sharing this buffer's memory (as subarray). */
  slice(start?: number, end?: number): Buffer;
  subarray(start?: number, end?: number): Buffer;
  write(string: string, offset?: number, length?: number, encoding?: BufferEncoding): number;
  write(string: string, encoding: BufferEncoding): number;
  fill(value: string | number | Uint8Array, offset?: number, end?: number, encoding?: BufferEncoding): this;
  indexOf(value: string | number | Uint8Array, byteOffset?: number, encoding?: BufferEncoding): number;
  lastIndexOf(value: string | number | Uint8Array, byteOffset?: number, encoding?: BufferEncoding): number;
  includes(value: string | number | Uint8Array, byteOffset?: number, encoding?: BufferEncoding): boolean;
  swap16(): Buffer;
  swap32(): Buffer;
  swap64(): Buffer;
  readUInt8(offset?: number): number;
  readUInt16LE(offset?: number): number;
  readUInt16BE(offset?: number): number;
  readUInt32LE(offset?: number): number;
  readUInt32BE(offset?: number): number;
  readInt8(offset?: number): number;
  readInt16LE(offset?: number): number;
  readInt16BE(offset?: number): number;
  readInt32LE(offset?: number): number;
  readInt32BE(offset?: number): number;
  readBigUInt64LE(offset?: number): bigint;
  readBigUInt64BE(offset?: number): bigint;
  readBigInt64LE(offset?: number): bigint;
  readBigInt64BE(offset?: number): bigint;
  readFloatLE(offset?: number): number;
  readFloatBE(offset?: number): number;
  readDoubleLE(offset?: number): number;
  readDoubleBE(offset?: number): number;
  readUIntBE(offset: number, byteLength: number): number;
  readUIntLE(offset: number, byteLength: number): number;
  readIntBE(offset: number, byteLength: number): number;
  readIntLE(offset: number, byteLength: number): number;
  writeUInt8(value: number, offset?: number): number;
  writeUInt16LE(value: number, offset?: number): number;
  writeUInt16BE(value: number, offset?: number): number;
  writeUInt32LE(value: number, offset?: number): number;
  writeUInt32BE(value: number, offset?: number): number;
  writeInt8(value: number, offset?: number): number;
  writeInt16LE(value: number, offset?: number): number;
  writeInt16BE(value: number, offset?: number): number;
  writeInt32LE(value: number, offset?: number): number;
  writeInt32BE(value: number, offset?: number): number;
  writeBigUInt64LE(value: bigint, offset?: number): number;
  writeBigUInt64BE(value: bigint, offset?: number): number;
  writeBigInt64LE(value: bigint, offset?: number): number;
  writeBigInt64BE(value: bigint, offset?: number): number;
  writeFloatLE(value: number, offset?: number): number;
  writeFloatBE(value: number, offset?: number): number;
  writeDoubleLE(value: number, offset?: number): number;
  writeDoubleBE(value: number, offset?: number): number;
}
interface BufferConstructor {
  readonly prototype: Buffer;
  from(data: string, encoding?: BufferEncoding): Buffer;
  from(data: ArrayBuffer, byteOffset?: number, length?: number): Buffer;
  from(data: Uint8Array | readonly number[] | ArrayLike<number> | { type: "Buffer"; data: number[] }): Buffer;
  of(...items: number[]): Buffer;
  alloc(size: number, fill?: string | number | Uint8Array, encoding?: BufferEncoding): Buffer;
  allocUnsafe(size: number): Buffer;
  allocUnsafeSlow(size: number): Buffer;
  byteLength(string: string | ArrayBuffer | ArrayBufferView, encoding?: BufferEncoding): number;
  compare(a: Uint8Array, b: Uint8Array): -1 | 0 | 1;
  concat(list: readonly Uint8Array[], totalLength?: number): Buffer;
  isBuffer(obj: unknown): obj is Buffer;
  isEncoding(encoding: string): encoding is BufferEncoding;
  poolSize: number;
}
declare var Buffer: BufferConstructor;

interface ScriptdBufferModule {
  Buffer: BufferConstructor;
  atob: typeof atob;
  btoa: typeof btoa;
  isUtf8(input: ArrayBuffer | ArrayBufferView): boolean;
  isAscii(input: ArrayBuffer | ArrayBufferView): boolean;
  constants: { MAX_LENGTH: number; MAX_STRING_LENGTH: number };
  kMaxLength: number;
}
interface ScriptdURLModule {
  URL: typeof URL;
  URLSearchParams: typeof URLSearchParams;
  domainToASCII(domain: string): string;
  domainToUnicode(domain: string): string;
  fileURLToPath(url: string | URL): string;
  pathToFileURL(path: string): URL;
  format(url: URL | string): string;
}
interface ScriptdUtilModule {
  /** printf-like formatting, as console.log: %s %d %i %f %j %o %O %c %%. */
  format(format?: any, ...args: any[]): string;
  inspect(value: unknown, options?: { depth?: number | null }): string;
  promisify<T = any>(fn: (...args: any[]) => void): (...args: any[]) => Promise<T>;
  callbackify(fn: (...args: any[]) => Promise<any>): (...args: any[]) => void;
  inherits(ctor: Function, superCtor: Function): void;
  deprecate<T extends Function>(fn: T, message: string, code?: string): T;
  isDeepStrictEqual(a: unknown, b: unknown): boolean;
  types: {
    isDate(v: unknown): v is Date;
    isRegExp(v: unknown): v is RegExp;
    isMap(v: unknown): v is Map<unknown, unknown>;
    isSet(v: unknown): v is Set<unknown>;
    isPromise(v: unknown): v is Promise<unknown>;
    isTypedArray(v: unknown): boolean;
    isUint8Array(v: unknown): v is Uint8Array;
    isArrayBuffer(v: unknown): v is ArrayBuffer;
    isAnyArrayBuffer(v: unknown): v is ArrayBuffer;
    isNativeError(v: unknown): v is Error;
    isAsyncFunction(v: unknown): boolean;
    [name: string]: (v: unknown) => boolean;
  };
  TextEncoder: typeof TextEncoder;
  TextDecoder: typeof TextDecoder;
}
/** require("buffer") / require("node:buffer"). */
declare module "buffer" { const m: ScriptdBufferModule; export = m; }
declare module "node:buffer" { const m: ScriptdBufferModule; export = m; }
/** require("url") / require("node:url"). */
declare module "url" { const m: ScriptdURLModule; export = m; }
declare module "node:url" { const m: ScriptdURLModule; export = m; }
/** require("util") / require("node:util"). */
declare module "util" { const m: ScriptdUtilModule; export = m; }
declare module "node:util" { const m: ScriptdUtilModule; export = m; }
