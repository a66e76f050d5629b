/**
 * S3 input: `s3://bucket/prefix/` listed and streamed with the SDK's default credentials and region. Under
 * Bedrock's delivery layout (`AWSLogs/<account>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/`) only the
 * hours asked for are listed (the window and anomaly's baseline days before it), so a week's scan of a year of
 * logs lists two weeks, not a year. Loaded only for s3:// paths.
 */
import { Readable } from "node:stream";
import type { S3Client } from "@aws-sdk/client-s3";
import { folderHoursOf, hourFolder } from "../core/delivery-layout.js";
import { DAY_MS, HOUR_MS, type Window } from "../core/rule.js";
import { describeAwsError } from "./aws-errors.js";
import { InputError } from "./errors.js";
import { NOT_LOG_FILES } from "./find-log-files.js";
import type { FoundSources, LogSource } from "./log-source.js";

/** Prefixes listed at once. */
const LIST_CONCURRENCY = 8;
/** At most this many date prefixes are listed; a longer window is listed by coarser units (days, months). */
const MAX_DATE_PREFIXES = 1000;

type S3Module = typeof import("@aws-sdk/client-s3");

let sdk: Promise<{ mod: S3Module; client: S3Client }> | undefined;

/** One client for the run, made on first use: the SDK is imported only when an s3:// path is scanned. */
function s3(): Promise<{ mod: S3Module; client: S3Client }> {
  // The SDK's notice about its future Node.js versions is not the scan's business (engines: node >= 20).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  sdk ??= import("@aws-sdk/client-s3").then(
    (mod) => ({
      mod,
      // Redirects: a bucket in another Region than the configured one still works.
      client: new mod.S3Client({ followRegionRedirects: true }),
    }),
    () => {
      throw new InputError("s3:// paths need the AWS SDK: @aws-sdk/client-s3 is not installed (npm install)");
    },
  );
  return sdk;
}

export interface S3Location {
  readonly bucket: string;
  readonly prefix: string;
}

/** Parses `s3://bucket/prefix`; the prefix may be empty (the whole bucket). */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  const bucket = m?.[1];
  if (!m || bucket === undefined) {
    throw new InputError(`${url}: not an S3 location like s3://bucket/prefix/`);
  }
  return { bucket, prefix: m[2] ?? "" };
}

const pad = (n: number) => String(n).padStart(2, "0");

/** The date prefixes (`YYYY/`, `YYYY/MM/`, `YYYY/MM/DD/` or `YYYY/MM/DD/HH/`) that can hold the window's records. */
export function datePrefixes(window: Window): string[] {
  // The delivery slack either side: a batch can start before its folder's hour, and delivery can be late.
  const { fromMs: from, toMs: to } = folderHoursOf(window);
  const units: { step: number; key: (d: Date) => string }[] = [
    { step: HOUR_MS, key: (d) => `${hourFolder(d.getTime())}/` },
    { step: DAY_MS, key: (d) => `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/` },
    { step: DAY_MS, key: (d) => `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/` },
    { step: DAY_MS, key: (d) => `${d.getUTCFullYear()}/` },
  ];
  for (const unit of units) {
    const keys = new Set<string>();
    for (let t = from; t <= to && keys.size <= MAX_DATE_PREFIXES; t += unit.step)
      keys.add(unit.key(new Date(t)));
    keys.add(unit.key(new Date(to)));
    if (keys.size <= MAX_DATE_PREFIXES) return [...keys];
  }
  return [""];
}

const REGION_DIR =
  /^((?:.*\/)?AWSLogs\/\d{12}\/BedrockModelInvocationLogs\/[a-z0-9-]+)(?:\/(\d{4}(?:\/\d{2}){0,3}))?\/?$/;
const ACCOUNTS_DIR = /^(?:.*\/)?AWSLogs\/?$/;
const ACCOUNT_DIR = /^(?:.*\/)?AWSLogs\/\d{12}\/?$/;
const REGIONS_DIR = /^(?:.*\/)?AWSLogs\/\d{12}\/BedrockModelInvocationLogs\/?$/;

const withSlash = (p: string) => (p.endsWith("/") ? p : `${p}/`);

type S3Object = { key: string; size: number | null };

/** What to read under one location: prefixes to list whole, and objects already listed on the way. */
interface Plan {
  prefixes: string[];
  objects: S3Object[];
}

/**
 * The prefixes to list for one location. Under the Bedrock layout: the window's date folders of each region
 * (accounts and regions found by listing one level with a delimiter). A folder or bucket that holds an
 * `AWSLogs/` folder (a key prefix in Bedrock's logging configuration) gets the same for it, and its other
 * contents listed whole. Anything else: the prefix itself.
 */
async function planListing(loc: S3Location, window: Window): Promise<Plan> {
  const p = loc.prefix;
  const region = REGION_DIR.exec(p);
  if (region) {
    const base = `${region[1] ?? ""}/`;
    const given = region[2] === undefined ? "" : withSlash(region[2]);
    // A prefix that names a date narrows the window's folders to those under it.
    const out = datePrefixes(window)
      .filter((d) => d.startsWith(given) || given.startsWith(d))
      .map((d) => base + (d.length >= given.length ? d : given));
    return { prefixes: [...new Set(out)], objects: [] };
  }
  let children: string[] | undefined;
  if (ACCOUNTS_DIR.test(p)) {
    children = (await listLevel(loc.bucket, withSlash(p))).dirs.filter((c) => /\/\d{12}\/$/.test(c));
    children = children.map((c) => `${c}BedrockModelInvocationLogs/`);
  } else if (ACCOUNT_DIR.test(p)) children = [`${withSlash(p)}BedrockModelInvocationLogs/`];
  if (children || REGIONS_DIR.test(p)) {
    const regionsDirs = children ?? [withSlash(p)];
    const levels = await mapPool(regionsDirs, LIST_CONCURRENCY, (d) => listLevel(loc.bucket, d));
    const plans = await mapPool(
      levels.flatMap((l) => l.dirs),
      LIST_CONCURRENCY,
      (r) => planListing({ ...loc, prefix: r }, window),
    );
    return { prefixes: plans.flatMap((x) => x.prefixes), objects: plans.flatMap((x) => x.objects) };
  }
  if (p === "" || p.endsWith("/")) {
    const level = await listLevel(loc.bucket, p);
    const awsLogs = `${p}AWSLogs/`;
    if (level.dirs.includes(awsLogs)) {
      const logs = await planListing({ ...loc, prefix: awsLogs }, window);
      return {
        prefixes: [...logs.prefixes, ...level.dirs.filter((d) => d !== awsLogs)],
        objects: [...logs.objects, ...level.objects],
      };
    }
  }
  return { prefixes: [p], objects: [] };
}

/** Runs `fn` over items, at most `limit` at a time, results in the items' order. */
async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** One level below a prefix: its "folders" and the objects directly in it. */
async function listLevel(bucket: string, prefix: string): Promise<{ dirs: string[]; objects: S3Object[] }> {
  const dirs: string[] = [];
  const objects = await listObjects(bucket, prefix, (page) => {
    for (const c of page.CommonPrefixes ?? []) if (c.Prefix) dirs.push(c.Prefix);
  });
  return { dirs, objects };
}

/** The objects under a prefix that may hold log records: all of them, or one level with `onLevel`. */
async function listObjects(
  bucket: string,
  prefix: string,
  onLevel?: (page: { CommonPrefixes?: { Prefix?: string }[] }) => void,
): Promise<S3Object[]> {
  const { mod, client } = await s3();
  const objects: S3Object[] = [];
  let token: string | undefined;
  do {
    const page = await send(
      client.send(
        new mod.ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          Delimiter: onLevel ? "/" : undefined,
          ContinuationToken: token,
        }),
      ),
      `s3://${bucket}/${prefix}`,
    );
    onLevel?.(page);
    for (const o of page.Contents ?? []) {
      const key = o.Key;
      if (key === undefined || key.endsWith("/")) continue;
      const name = key.slice(key.lastIndexOf("/") + 1);
      if (name.startsWith(".") || NOT_LOG_FILES.has(name)) continue;
      objects.push({ key, size: o.Size ?? null });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

/** Lists the objects to read under the given s3:// locations. Listing errors end the scan (InputError). */
export async function findS3Sources(urls: readonly string[], window: Window): Promise<FoundSources> {
  const locations = urls.map(parseS3Url);
  const sources: LogSource[] = [];
  const seen = new Set<string>();
  for (const loc of locations) {
    const plan = await planListing(loc, window);
    const lists = await mapPool(plan.prefixes, LIST_CONCURRENCY, (p) => listObjects(loc.bucket, p));
    for (const { key, size } of [...plan.objects, ...lists.flat()].sort((a, b) =>
      a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
    )) {
      const name = `s3://${loc.bucket}/${key}`;
      if (seen.has(name)) continue;
      seen.add(name);
      sources.push({ name, size, parallel: true, open: () => objectStream(loc.bucket, key) });
    }
  }
  return { sources, errors: [] };
}

/** An object's bytes; GetObject runs when reading starts, and its errors surface as InputErrors. */
function objectStream(bucket: string, key: string): Readable {
  async function* body(): AsyncGenerator<Buffer> {
    // The reader names the object in its message: these errors say only what went wrong.
    try {
      const { mod, client } = await s3();
      const res = await client.send(new mod.GetObjectCommand({ Bucket: bucket, Key: key }));
      const stream = res.Body;
      if (!(stream instanceof Readable)) throw new InputError("no object body in the response");
      for await (const chunk of stream) yield chunk as Buffer;
    } catch (err) {
      throw err instanceof InputError ? err : new InputError(describeS3Error(err));
    }
  }
  return Readable.from(body(), { objectMode: false });
}

/** Awaits an SDK call; its failure becomes one line naming the location (never a stack trace). */
async function send<T>(call: Promise<T>, where: string): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw new InputError(`${where}: ${describeS3Error(err)}`);
  }
}

/** The SDK's errors for the mistakes a user can fix, in words. */
export function describeS3Error(err: unknown): string {
  return describeAwsError(err, {
    name: "S3",
    permissions: "s3:ListBucket and s3:GetObject",
    special: (name) =>
      name === "NoSuchBucket"
        ? "no such bucket"
        : name === "NoSuchKey"
          ? "no such object (deleted while scanning?)"
          : undefined,
  });
}
