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

  /** Must be called from an awaiting context (docs/scripts.md) unless the handle is forced_sync. */
  namespace Async {
    function open_backend(btype: BackendTag, options: BackendOptions, key_type: TypeSpec, val_type: TypeSpec): Promise<OperationResult<BackendHandle>>;
    function close_backend(handle: BackendHandle): Promise<OperationResult>;
    function put<K = unknown, V = unknown>(handle: BackendHandle, args: PutArgs<K, V>): Promise<OperationResult>;
    function get<V = any>(handle: BackendHandle, key: unknown): Promise<OperationResult<V>>;
    function erase(handle: BackendHandle, key: unknown): Promise<OperationResult>;
  }

  /** The same operations, blocking the event loop. */
  namespace Sync {
    function open_backend(btype: BackendTag, options: BackendOptions, key_type: TypeSpec, val_type: TypeSpec): OperationResult<BackendHandle>;
    function close_backend(handle: BackendHandle): OperationResult;
    function put<K = unknown, V = unknown>(handle: BackendHandle, args: PutArgs<K, V>): OperationResult;
    function get<V = any>(handle: BackendHandle, key: unknown): OperationResult<V>;
    function erase(handle: BackendHandle, key: unknown): OperationResult;
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
