/**
 * The archive's props checked and completed once: every mistake is reported together, in one ConstructError
 * naming each prop the way the caller wrote it (`prefix`, or `archive.prefix` through the detector). Values
 * that are tokens (resolved at deploy time) are taken as they are.
 */
import { Duration, type Stack, Token } from "aws-cdk-lib";
import { REGION } from "../config/settings.js";
import { TB } from "../core/athena-cost.js";
import { ARCHIVE_NAMES } from "../core/athena-table.js";
import { ACCOUNT_ID } from "../core/insights-query.js";
import { DAY_MS } from "../core/rule.js";
import type { InvocationArchiveOptions } from "./archive-props.js";
import { ConstructError } from "./errors.js";

export const ARCHIVE_DEFAULTS = {
  prefix: "",
  startDate: "2023-09-28",
  databaseName: ARCHIVE_NAMES.database,
  tableName: ARCHIVE_NAMES.table,
  workGroupName: ARCHIVE_NAMES.workGroup,
  bytesScannedCutoffPerQuery: TB,
  resultsExpirationDays: 7,
} as const;

/** Athena's least bytes-scanned cutoff (CloudFormation's minimum for `BytesScannedCutoffPerQuery`). */
export const MIN_BYTES_SCANNED_CUTOFF = 10_000_000;
const MAX_ACCOUNTS = 1000;
const MAX_REGIONS = 50;

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Empty, or folders of S3's safe key characters, each ending in `/`. */
const PREFIX = /^(?:[\w!.*'()-]+\/)*$/;
const GLUE_NAME = /^[a-z0-9_]{1,255}$/;
const WORK_GROUP_NAME = /^[\w.-]{1,128}$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export interface ArchivePlan {
  readonly bucketName: string;
  readonly prefix: string;
  readonly accountIds: readonly string[];
  readonly regions: readonly string[];
  /** The first hour folder (`YYYY/MM/DD/00`) of `startDate`. */
  readonly firstHour: string;
  readonly databaseName: string;
  readonly tableName: string;
  readonly workGroupName: string;
  readonly bytesScannedCutoffPerQuery: number;
  readonly resultsExpiration: Duration;
}

const literal = (value: string) => !Token.isUnresolved(value);

/** The first hour folder of a `YYYY-MM-DD` day, or undefined when it is not a calendar date. */
function firstHourOf(date: string): string | undefined {
  const m = DATE.exec(date);
  if (!m) return undefined;
  const ms = Date.parse(`${date}T00:00:00Z`);
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) return undefined;
  return `${m[1]}/${m[2]}/${m[3]}/00`;
}

function listProblems(
  name: string,
  values: readonly string[],
  pattern: RegExp,
  what: string,
  max: number,
): string[] {
  const problems: string[] = [];
  if (values.length === 0) problems.push(`${name} is empty: give at least one`);
  if (values.length > max) problems.push(`${name} lists ${values.length}: at most ${max}`);
  const bad = values.filter((v) => literal(v) && !pattern.test(v));
  if (bad.length > 0)
    problems.push(`${name} has ${bad.map((v) => JSON.stringify(v)).join(", ")}: not ${what}`);
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) problems.push(`${name} lists ${JSON.stringify(v)} twice`);
    seen.add(v);
  }
  return problems;
}

/** Checks the archive's props and fills in the defaults; throws one ConstructError naming every prop at fault. */
export function planArchive(options: InvocationArchiveOptions, stack: Stack, propPrefix = ""): ArchivePlan {
  const problems: { prop: string; text: string }[] = [];
  const fault = (prop: string, text: string) => problems.push({ prop: `${propPrefix}${prop}`, text });
  const named = (prop: string) => `${propPrefix}${prop}`;

  if (options.bucket !== undefined && options.bucketName !== undefined) {
    fault("bucket", `give ${named("bucket")} or ${named("bucketName")}, not both`);
  }
  const bucketName = options.bucket?.bucketName ?? options.bucketName;
  if (bucketName === undefined) {
    fault(
      "bucket",
      `${named("bucket")} or ${named("bucketName")} is required: the bucket Bedrock delivers to`,
    );
  } else if (options.bucket === undefined && literal(bucketName) && !BUCKET_NAME.test(bucketName)) {
    fault("bucketName", `${named("bucketName")} "${bucketName}" is not an S3 bucket name`);
  }

  const prefix = options.prefix ?? ARCHIVE_DEFAULTS.prefix;
  if (literal(prefix)) {
    if (!PREFIX.test(prefix)) {
      fault(
        "prefix",
        `${named("prefix")} "${prefix}" must be empty or folders ending in "/" (no leading "/", no "//", S3's safe characters)`,
      );
    } else if (/(^|\/)AWSLogs\/$/.test(prefix)) {
      fault("prefix", `${named("prefix")} "${prefix}" ends in AWSLogs/: give the part before AWSLogs/`);
    }
  }

  const accountIds = options.accountIds ?? [stack.account];
  for (const text of listProblems(
    named("accountIds"),
    accountIds,
    ACCOUNT_ID,
    "12-digit account ids",
    MAX_ACCOUNTS,
  )) {
    fault("accountIds", text);
  }
  const regions = options.regions ?? [stack.region];
  for (const text of listProblems(
    named("regions"),
    regions,
    REGION,
    "AWS Regions like us-east-1",
    MAX_REGIONS,
  )) {
    fault("regions", text);
  }

  const startDate = options.startDate ?? ARCHIVE_DEFAULTS.startDate;
  const firstHour = firstHourOf(startDate);
  if (firstHour === undefined)
    fault("startDate", `${named("startDate")} "${startDate}" is not a date like 2024-01-31`);

  const names = {
    databaseName: options.databaseName ?? ARCHIVE_DEFAULTS.databaseName,
    tableName: options.tableName ?? ARCHIVE_DEFAULTS.tableName,
    workGroupName: options.workGroupName ?? ARCHIVE_DEFAULTS.workGroupName,
  };
  for (const key of ["databaseName", "tableName"] as const) {
    if (literal(names[key]) && !GLUE_NAME.test(names[key])) {
      fault(key, `${named(key)} "${names[key]}" must be 1 to 255 lowercase letters, digits and "_"`);
    }
  }
  if (literal(names.workGroupName) && !WORK_GROUP_NAME.test(names.workGroupName)) {
    fault(
      "workGroupName",
      `${named("workGroupName")} "${names.workGroupName}" must be 1 to 128 letters, digits and ". _ -"`,
    );
  }

  const cutoff = options.bytesScannedCutoffPerQuery ?? ARCHIVE_DEFAULTS.bytesScannedCutoffPerQuery;
  if (!Token.isUnresolved(cutoff) && (!Number.isSafeInteger(cutoff) || cutoff < MIN_BYTES_SCANNED_CUTOFF)) {
    fault(
      "bytesScannedCutoffPerQuery",
      `${named("bytesScannedCutoffPerQuery")} ${cutoff} must be a whole number of bytes, at least ${MIN_BYTES_SCANNED_CUTOFF} (Athena's minimum)`,
    );
  }
  const resultsExpiration =
    options.resultsExpiration ?? Duration.days(ARCHIVE_DEFAULTS.resultsExpirationDays);
  const expirationDays = resultsExpiration.toMilliseconds() / DAY_MS;
  if (!Number.isInteger(expirationDays) || expirationDays < 1) {
    fault(
      "resultsExpiration",
      `${named("resultsExpiration")} ${resultsExpiration.toHumanString()} must be whole days, at least 1`,
    );
  }

  if (problems.length > 0) {
    throw new ConstructError(problems.map((p) => p.text).join("; "), {
      settings: [...new Set(problems.map((p) => p.prop))],
    });
  }
  return {
    bucketName: bucketName as string,
    prefix,
    accountIds,
    regions,
    firstHour: firstHour as string,
    ...names,
    bytesScannedCutoffPerQuery: cutoff,
    resultsExpiration,
  };
}
