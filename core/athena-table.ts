/**
 * The Athena table over Bedrock's S3 delivery archive, as pure data: the construct creates it (Glue table with
 * partition projection) and the queries read it. Athena reads the records as raw text, like Logs Insights: one
 * string column holds each line, and the queries take the record's fields from it (see athena-query.ts).
 */
import { deliveryFolder, folderHoursOf, hourFolder } from "./delivery-layout.js";
import type { Window } from "./rule.js";

/** The archive's names when the construct's props do not set them; the CLI's `athena` defaults to them too. */
export const ARCHIVE_NAMES = {
  database: "bedrock_invocation_archive",
  table: "invocations",
  workGroup: "bedrock-invocation-archive",
} as const;

/** Column and partition names. `datehour` is the hour folder, `YYYY/MM/DD/HH`, compared as a string. */
export const ARCHIVE_COLUMNS = {
  /** The whole line, as Bedrock wrote it. */
  line: "line",
  account: "account",
  region: "region",
  datehour: "datehour",
} as const;

/**
 * The text format's field delimiter: U+0001 cannot occur raw in a JSON line (control characters are escaped
 * inside strings and are not whitespace outside them), so each line is read whole into `line`.
 */
export const LINE_FIELD_DELIMITER = "\u0001";

/** Java SimpleDateFormat of the `datehour` projection: the same text as hourFolder() writes. */
export const DATEHOUR_FORMAT = "yyyy/MM/dd/HH";

export interface ArchiveLocation {
  /** The bucket Bedrock delivers to. */
  readonly bucket: string;
  /** The key prefix before `AWSLogs/` ('' or ending in '/'). */
  readonly prefix: string;
}

export interface ProjectionSettings extends ArchiveLocation {
  /** Accounts whose deliveries the table reads (partition projection enumerates them). */
  readonly accountIds: readonly string[];
  /** Regions whose deliveries the table reads. */
  readonly regions: readonly string[];
  /** The first hour folder that can exist (`YYYY/MM/DD/HH`): partitions before it are never listed. */
  readonly firstHour: string;
}

/** The table's S3 location (the common part of every partition's). */
export const tableLocation = (at: ArchiveLocation): string => `s3://${at.bucket}/${at.prefix}AWSLogs/`;

/** Glue table parameters for partition projection: no crawler, no MSCK REPAIR, partitions computed per query. */
export function projectionParameters(s: ProjectionSettings): Record<string, string> {
  const c = ARCHIVE_COLUMNS;
  return {
    "projection.enabled": "true",
    [`projection.${c.account}.type`]: "enum",
    [`projection.${c.account}.values`]: s.accountIds.join(","),
    [`projection.${c.region}.type`]: "enum",
    [`projection.${c.region}.values`]: s.regions.join(","),
    [`projection.${c.datehour}.type`]: "date",
    [`projection.${c.datehour}.format`]: DATEHOUR_FORMAT,
    [`projection.${c.datehour}.range`]: `${s.firstHour},NOW`,
    [`projection.${c.datehour}.interval`]: "1",
    [`projection.${c.datehour}.interval.unit`]: "HOURS",
    "storage.location.template": `s3://${s.bucket}/${s.prefix}${deliveryFolder(`\${${c.account}}`, `\${${c.region}}`)}\${${c.datehour}}/`,
  };
}

/**
 * The `datehour` bounds a query over `window` reads (inclusive): the window's hours and the delivery slack
 * either side. Every query constrains the partitions with them (Athena bills per byte scanned).
 */
export function datehourRange(window: Window): { readonly from: string; readonly to: string } {
  const { fromMs, toMs } = folderHoursOf(window);
  return { from: hourFolder(fromMs), to: hourFolder(toMs) };
}
