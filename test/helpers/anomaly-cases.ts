/**
 * Eight days of four principals, the cases the anomaly defaults are chosen for (docs/detections.md): an ETL
 * role at 30x its usual busiest hour and a never-seen key using 4 M tokens in an hour (both flagged), a batch
 * that is large at 02:00 every night and a steady service at 0.5 M tokens an hour (both quiet). Every request
 * stays under the hunt's, cached-input's and token-volume's thresholds, so only anomaly can see them.
 */
import { type InvocationRecord, readRecord } from "../../core/record-reader.js";
import { DAY_MS, HOUR_MS } from "../../core/rule.js";
import { rawRecord } from "./records.js";

export const ANOMALY_CASES = {
  etl: "310000000001",
  newKey: "320000000002",
  nightly: "330000000003",
  steady: "340000000004",
} as const;

/** The window evaluated: the eighth day. History starts seven days before it. */
export const ANOMALY_WINDOW = {
  startMs: Date.parse("2026-11-19T00:00:00Z"),
  endMs: Date.parse("2026-11-20T00:00:00Z"),
};
const FIRST_DAY = ANOMALY_WINDOW.startMs - 7 * DAY_MS;

export const ETL_ROLE = `arn:aws:sts::${ANOMALY_CASES.etl}:assumed-role/etl`;
export const NEW_KEY = `arn:aws:iam::${ANOMALY_CASES.newKey}:user/new-key`;
/** The ETL role's spike: 60 requests of 60,000 tokens at 14:00 on the eighth day. */
export const ETL_SPIKE = { hourMs: Date.parse("2026-11-19T14:00:00Z"), tokens: 3_600_000, usual: 120_000 };
/** The new key's hour: 50 requests of 80,000 tokens at 09:00 on the eighth day. */
export const NEW_KEY_HOUR = { hourMs: Date.parse("2026-11-19T09:00:00Z"), tokens: 4_000_000 };

let serial = 0;
interface Line {
  readonly timestampMs: number;
  readonly text: string;
}
/** `n` requests of `tokens` total tokens each (7,000 prompt, 900 completion, the rest read from the cache). */
function requests(accountId: string, identityArn: string, hourMs: number, n: number, tokens: number): Line[] {
  const out: Line[] = [];
  for (let i = 0; i < n; i++) {
    serial++;
    const timestampMs = hourMs + Math.floor(((i + 0.5) * HOUR_MS) / n);
    out.push({
      timestampMs,
      text: rawRecord({
        accountId,
        identityArn,
        modelId: "anthropic.claude-3-5-sonnet-20240620-v1:0",
        promptTokens: 7000,
        completionTokens: 900,
        cacheRead: tokens - 7900,
        body: { prompt: "p" },
        timestamp: new Date(timestampMs).toISOString(),
        requestId: `00000000-0000-4000-8000-${String(serial).padStart(12, "0")}`,
      }),
    });
  }
  return out;
}

/** The eight days as JSON lines (Bedrock's own records), oldest first. */
export function anomalyLines(): Line[] {
  serial = 0;
  const out: Line[] = [];
  for (let day = 0; day < 8; day++) {
    const d = FIRST_DAY + day * DAY_MS;
    for (let hour = 0; hour < 24; hour++) {
      const h = d + hour * HOUR_MS;
      // The steady service: 10 requests of 50,000 tokens every hour (0.5 M an hour).
      out.push(
        ...requests(
          ANOMALY_CASES.steady,
          `arn:aws:sts::${ANOMALY_CASES.steady}:assumed-role/api/i-${day}`,
          h,
          10,
          50_000,
        ),
      );
      // The ETL role, 08:00-18:00: 100,000 tokens an hour, 120,000 at 10:00 and 16:00 (its usual busiest).
      if (hour >= 8 && hour < 18) {
        const session = `${ETL_ROLE}/run-${day}`;
        if (h === ETL_SPIKE.hourMs) out.push(...requests(ANOMALY_CASES.etl, session, h, 60, 60_000));
        else
          out.push(
            ...requests(ANOMALY_CASES.etl, session, h, 2, hour === 10 || hour === 16 ? 60_000 : 50_000),
          );
      }
    }
    // The nightly batch: 63 requests of 80,000 tokens at 02:00 (5.04 M), every night.
    out.push(
      ...requests(
        ANOMALY_CASES.nightly,
        `arn:aws:sts::${ANOMALY_CASES.nightly}:assumed-role/nightly-batch/job-${day}`,
        d + 2 * HOUR_MS,
        63,
        80_000,
      ),
    );
  }
  out.push(...requests(ANOMALY_CASES.newKey, NEW_KEY, NEW_KEY_HOUR.hourMs, 50, 80_000));
  return out.sort((a, b) => a.timestampMs - b.timestampMs);
}

/** The same records, read. */
export const anomalyRecords = (lines: readonly Line[] = anomalyLines()): InvocationRecord[] =>
  lines.flatMap((l) => {
    const r = readRecord(l.text);
    return r.ok ? [r.record] : [];
  });
