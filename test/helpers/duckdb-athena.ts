/**
 * DuckDB as a local stand-in for Athena: the archive table (athena-table.ts: `line`, `account`, `region`,
 * `datehour`) filled from raw lines, and the queries of core/athena-query.ts run after the small, explicit
 * rewrite of Trino names below. Everything else in the SQL (CTEs, CASE, casts, window functions, regexp_extract,
 * substr, lpad, length in code points) means the same in both engines.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { gunzipSync } from "node:zlib";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { ARCHIVE_COLUMNS } from "../../core/athena-table.js";
import { hourFolder } from "../../core/delivery-layout.js";
import type { Row } from "../../core/insights-rows.js";

export const TABLE = { database: "archive", table: "bedrock_invocations" } as const;

/**
 * Trino to DuckDB, each rewrite with why it keeps the meaning. The SQL needs no other: its regular expressions
 * keep to what Java (joni) and RE2 read alike, and every regexp_extract is wrapped in nullif(…, '') (Trino
 * gives NULL where DuckDB gives '' for no match).
 */
export const TRINO_TO_DUCKDB: readonly { from: RegExp; to: string; why: string }[] = [
  {
    from: /\bregexp_like\(/g,
    to: "regexp_matches(",
    why: "both: true when the pattern matches somewhere in the string (a search, not a full match)",
  },
  {
    from: /\bto_unixtime\(/g,
    to: "epoch(",
    why: "both: seconds since 1970-01-01 UTC of a timestamp with time zone, with the fraction",
  },
  {
    from: /\bfrom_unixtime\(/g,
    to: "to_timestamp(",
    why: "both: the timestamp with time zone of a number of seconds since 1970-01-01 UTC",
  },
  {
    from: /\bcardinality\(/g,
    to: "array_length(",
    why: "both: the number of elements of an array (DuckDB's cardinality is for maps only)",
  },
  {
    from: /\barray_min\(/g,
    to: "list_min(",
    why: "both: the smallest element of an array (the SQL's arrays hold no NULL)",
  },
  {
    from: /\bdate_format\(/g,
    to: "strftime(",
    why: "both format a timestamp; the SQL uses only %Y, %m, %d and %H, which mean the same in both",
  },
];

/** The Trino SQL as DuckDB runs it; `now`: the test's clock in place of current_timestamp. */
export function toDuckDb(sql: string, now?: number): string {
  let out = sql;
  for (const r of TRINO_TO_DUCKDB) out = out.replace(r.from, r.to);
  if (now !== undefined) {
    const stamp = new Date(now).toISOString().replace("T", " ").replace("Z", "+00");
    out = out.replace(/\bcurrent_timestamp\b/g, `TIMESTAMPTZ '${stamp}'`);
  }
  return out;
}

export interface ArchiveLine {
  readonly line: string;
  readonly account: string;
  readonly region: string;
  readonly datehour: string;
}

export class DuckArchive {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
  ) {}

  static async create(): Promise<DuckArchive> {
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    // Trino's `/` on integers is integer division (truncating); DuckDB's is too with this setting (the SQL
    // divides only non-negative integers, where truncating and flooring agree).
    await connection.run("SET integer_division = true");
    const c = ARCHIVE_COLUMNS;
    await connection.run(`CREATE SCHEMA ${TABLE.database}`);
    await connection.run(
      `CREATE TABLE ${TABLE.database}.${TABLE.table} (${c.line} VARCHAR, ${c.account} VARCHAR, ${c.region} VARCHAR, ${c.datehour} VARCHAR)`,
    );
    return new DuckArchive(instance, connection);
  }

  async add(lines: readonly ArchiveLine[]): Promise<void> {
    const appender = await this.connection.createAppender(TABLE.table, TABLE.database);
    for (const l of lines) {
      appender.appendVarchar(l.line);
      appender.appendVarchar(l.account);
      appender.appendVarchar(l.region);
      appender.appendVarchar(l.datehour);
      appender.endRow();
    }
    appender.closeSync();
  }

  async clear(): Promise<void> {
    await this.connection.run(`DELETE FROM ${TABLE.database}.${TABLE.table}`);
  }

  /** Runs Trino SQL (rewritten by toDuckDb); every value as text, NULL as absent, as Athena returns rows. */
  async query(sql: string, now?: number): Promise<Row[]> {
    const reader = await this.connection.runAndReadAll(toDuckDb(sql, now));
    return reader.getRowObjectsJS().map((r) => {
      const row: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(r)) row[k] = v === null || v === undefined ? undefined : String(v);
      return row;
    });
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

const S3_KEY =
  /(?:^|\/)AWSLogs\/(\d+)\/BedrockModelInvocationLogs\/([^/]+)\/(\d{4}\/\d{2}\/\d{2}\/\d{2})\/[^/]+$/;

/**
 * The lines of every `.json.gz` object in the S3 layout under `dir`, with the partition values their keys
 * give (as partition projection reads them); each line as Athena's text format reads it (split on LF; the
 * newline that ends a file ends its last line).
 */
export async function archiveLinesUnder(dir: string): Promise<ArchiveLine[]> {
  const out: ArchiveLine[] = [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile() || !e.name.endsWith(".json.gz")) continue;
    const path = join(e.parentPath, e.name);
    const key = relative(dir, path).split(sep).join("/");
    const m = S3_KEY.exec(key);
    if (!m) continue;
    const text = gunzipSync(await readFile(path)).toString("utf8");
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    for (const line of lines)
      out.push({ line, account: m[1] as string, region: m[2] as string, datehour: m[3] as string });
  }
  return out;
}

/** A line delivered where Bedrock would put it: its account's folder and the hour folder of `timestampMs`. */
export const deliveredLine = (line: string, accountId: string, timestampMs: number): ArchiveLine => ({
  line,
  account: accountId,
  region: "us-east-1",
  datehour: hourFolder(timestampMs),
});
