// The fields of Zeek's ssl.log this example reads.
export interface SSLRecord {
  ts: number;
  "id.resp_h": string;
  "id.resp_p": number;
  /** Absent when no version was negotiated. */
  version?: string;
  cipher?: string;
  server_name?: string;
}

/** What is logged once per day: a server and the version it accepted. */
export interface ServerKey {
  host: string;
  port: number;
  version: string;
}

export const DEFAULT_WEAK: readonly string[] = ["SSLv2", "SSLv3", "TLSv10", "TLSv11"];

/** The versions named on the command line, or the default ones. */
export function weakVersions(args: readonly string[]): ReadonlySet<string> {
  return new Set(args.length > 0 ? args : DEFAULT_WEAK);
}
