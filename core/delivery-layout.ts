/**
 * Bedrock's S3 delivery layout, `<prefix>AWSLogs/<account>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/`:
 * one source of truth for the scanner's S3 listing and the Athena table's partitions.
 */
import { HOUR_MS, type Window } from "./rule.js";

/**
 * How far a record's timestamp may lie outside its hour folder: a batch can start before its folder's hour, and
 * delivery can be late. Readers of the layout read this much either side of a window's hours.
 */
export const DELIVERY_SLACK_MS = HOUR_MS;

const pad = (n: number) => String(n).padStart(2, "0");

/** The hour folder (`YYYY/MM/DD/HH`) of an instant, in UTC. */
export function hourFolder(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCHours())}`;
}

/** The first and last hour (epoch ms, clock hours) whose folders can hold records of `window`. */
export function folderHoursOf(window: Window): { readonly fromMs: number; readonly toMs: number } {
  return {
    fromMs: Math.floor((window.startMs - DELIVERY_SLACK_MS) / HOUR_MS) * HOUR_MS,
    toMs: Math.floor((window.endMs - 1 + DELIVERY_SLACK_MS) / HOUR_MS) * HOUR_MS,
  };
}

/** The folder below a prefix that holds one account's records of one Region. */
export const deliveryFolder = (accountId: string, region: string): string =>
  `AWSLogs/${accountId}/BedrockModelInvocationLogs/${region}/`;
