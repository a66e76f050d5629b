/**
 * The Athena SQL (core/athena-query.ts) run on DuckDB (test/helpers/duckdb-athena.ts: the archive table filled
 * from raw lines, Trino names rewritten by a small table): its rows, through parseUsageRows and evaluateUsage,
 * must give exactly the scanner's findings on the sample corpus, the detection cases, the anomaly cases and
 * hostile records, with exclusions and per-model thresholds; where a raw-text engine may deviate
 * (detection-rule.md), the deviation is asserted as such.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SAMPLE_END, SAMPLE_ABUSIVE, writeSampleData } from "../../cli/sample-data.js";
import { scanLogs } from "../../cli/scan.js";
import { defineRule } from "../../config/rule-settings.js";
import { MAX_EXCLUDED_ACCOUNTS } from "../../config/settings.js";
import {
  type AthenaTable,
  anomalyHistoryFromAthenaRows,
  athenaSavedQueries,
  buildAthenaHistoryQuery,
  buildAthenaUsageQuery,
  MAX_ATHENA_QUERY_BYTES,
} from "../../core/athena-query.js";
import { datehourRange } from "../../core/athena-table.js";
import { evaluateUsage } from "../../core/detections.js";
import type { Finding } from "../../core/evaluator.js";
import { groupOf, matches } from "../../core/evaluator.js";
import type { DetectionName } from "../../core/finding.js";
import { parseUsageRows } from "../../core/insights-rows.js";
import { MAX_MODEL_THRESHOLDS } from "../../core/model-thresholds.js";
import { historyWindowOf, RuleEvaluator } from "../../core/record-evaluator.js";
import { readRecord } from "../../core/record-reader.js";
import { DAY_MS, HOUR_MS, parseRecordTimestamp, type Rule, type Window } from "../../core/rule.js";
import { usageOfRecord } from "../../core/usage.js";
import { adversarialRecord } from "../helpers/adversarial.js";
import { ANOMALY_CASES, ANOMALY_WINDOW, anomalyLines } from "../helpers/anomaly-cases.js";
import { CASES, DAY, detectionCorpus } from "../helpers/detection-cases.js";
import {
  type ArchiveLine,
  archiveLinesUnder,
  DuckArchive,
  deliveredLine,
  TABLE,
  toDuckDb,
} from "../helpers/duckdb-athena.js";
import { rawRecord } from "../helpers/records.js";
import { referenceRead } from "../helpers/reference-reader.js";

let archive: DuckArchive;
beforeAll(async () => {
  archive = await DuckArchive.create();
});
afterAll(() => archive.close());

/** The sample corpus, written once (writeSampleData: S3 layout, gzip), for the tests that read it. */
const SAMPLE_END = Date.parse(DEFAULT_SAMPLE_END);
const SAMPLE_WINDOW = { startMs: SAMPLE_END - DAY_MS, endMs: SAMPLE_END };
let sampleWritten: Promise<string> | undefined;
const sampleDir = (): Promise<string> => {
  sampleWritten ??= mkdtemp(join(tmpdir(), "athena-sample-")).then(async (dir) => {
    await writeSampleData(dir, { seed: 7, endMs: SAMPLE_END });
    return dir;
  });
  return sampleWritten;
};
afterAll(async () => {
  if (sampleWritten) await rm(await sampleWritten, { recursive: true, force: true });
});

/** Every detection over the archive table, the way the Athena engine computes it: usage rows and history rows. */
async function athenaEvaluation(rule: Rule, window: Window, table: AthenaTable = TABLE) {
  const usage = parseUsageRows(await archive.query(buildAthenaUsageQuery(rule, window, table)), window);
  const history = anomalyHistoryFromAthenaRows(
    await archive.query(buildAthenaHistoryQuery(rule, window, table)),
    rule,
    window,
  );
  expect(usage.rejected).toEqual([]);
  expect(usage.rejectedValues).toEqual([]);
  expect(history.rejected).toEqual([]);
  return { ...evaluateUsage(usage.groups, rule, window, undefined, history.history), history, usage };
}

/** The scanner's evaluation of lines read in the order given. */
function scannerEvaluation(lines: readonly string[], rule: Rule, window: Window) {
  const evaluator = new RuleEvaluator(rule, window);
  for (const line of lines) {
    const r = readRecord(line);
    if (r.ok) evaluator.add(r.record);
  }
  return { evaluation: evaluator.evaluate(), history: evaluator.history(), stats: evaluator.stats };
}

/** Lines where Bedrock delivers them: the account's folder, the hour folder of the record's own time. */
function delivered(lines: readonly string[]): ArchiveLine[] {
  return lines.flatMap((line) => {
    const r = readRecord(line);
    return r.ok ? [deliveredLine(line, r.record.accountId, r.record.timestampMs)] : [];
  });
}

async function load(lines: readonly ArchiveLine[]): Promise<void> {
  await archive.clear();
  await archive.add(lines);
}

const fired = (findings: { accountId: string; detections: DetectionName[] }[], d: DetectionName) =>
  findings.filter((f) => f.detections.includes(d)).map((f) => f.accountId);

const PER_MODEL = [
  { prefix: "anthropic", thresholds: { promptTokens: 3000, requestSize: 9000, completionTokens: 1000 } },
  {
    prefix: "anthropic.claude-3-5",
    thresholds: { promptTokens: 5000, requestSize: 4000, completionTokens: 900 },
  },
  { prefix: "meta.llama3", thresholds: { promptTokens: 7000, requestSize: 100, completionTokens: 7800 } },
];

describe("the Athena SQL on DuckDB agrees with the scanner", () => {
  it("on the detection cases: every detection beyond the hunt fires, and findings are the scanner's exactly", async () => {
    const lines = detectionCorpus();
    await load(delivered(lines));
    const rule = defineRule({});
    const athena = await athenaEvaluation(rule, DAY);
    const scanner = scannerEvaluation(lines, rule, DAY);
    expect(athena.findings).toEqual(scanner.evaluation.findings);
    expect(athena.principals).toEqual(scanner.evaluation.principals);
    expect(fired(athena.findings, "cached-input")).toEqual([CASES.cachedLeak]);
    expect(fired(athena.findings, "token-volume")).toEqual([CASES.flood]);
    expect(athena.findings.map((f) => f.accountId)).not.toContain(CASES.steady);
    // With per-model thresholds the flood's model is held to lower ones: the hunt fires too.
    const perModel = defineRule({ modelThresholds: PER_MODEL });
    const athenaPerModel = await athenaEvaluation(perModel, DAY);
    expect(athenaPerModel.findings).toEqual(scannerEvaluation(lines, perModel, DAY).evaluation.findings);
    expect(fired(athenaPerModel.findings, "heavy-requests")).toContain(CASES.flood);
  });

  it("on the anomaly cases: the history query gives the scanner's history, and anomaly fires exactly as there", async () => {
    const lines = anomalyLines().map((l) => l.text);
    await load(delivered(lines));
    const rule = defineRule({});
    const athena = await athenaEvaluation(rule, ANOMALY_WINDOW);
    const scanner = scannerEvaluation(lines, rule, ANOMALY_WINDOW);
    expect(athena.findings).toEqual(scanner.evaluation.findings);
    expect(fired(athena.findings, "anomaly").sort()).toEqual(
      [ANOMALY_CASES.etl, ANOMALY_CASES.newKey].sort(),
    );
    expect(athena.history.foundFromMs).toBe(scanner.history.knownFromMs);
    expect(athena.history.records).toBe(scanner.stats.recordsInHistory);
    expect([...athena.history.history.totals.entries()]).toEqual(
      expect.arrayContaining([...scanner.history.totals.entries()]),
    );
    expect(athena.history.history.totals.size).toBe(scanner.history.totals.size);
    // A shorter baseline: history known from fewer hours, findings still the scanner's.
    const short = defineRule({ baselineDays: 2 });
    expect((await athenaEvaluation(short, ANOMALY_WINDOW)).findings).toEqual(
      scannerEvaluation(lines, short, ANOMALY_WINDOW).evaluation.findings,
    );
  });

  describe("on the sample corpus (S3 layout, gzip, a week of history)", () => {
    const window = SAMPLE_WINDOW;

    it.each([
      ["the default rule", {}],
      [
        "exclusions and per-model thresholds",
        {
          excludedAccountIds: [SAMPLE_ABUSIVE[0] as string],
          excludedIdentityPatterns: ["arn:aws:sts::*:assumed-role/etl/*"],
          modelThresholds: PER_MODEL,
          cachedInputTokens: 20_000,
        },
      ],
    ])("%s", async (_, overrides) => {
      const rule = defineRule(overrides);
      await load(await archiveLinesUnder(await sampleDir()));
      const athena = await athenaEvaluation(rule, window);
      // The scanner over the same objects (the CloudWatch export is no part of the S3 archive).
      const scanned = await scanLogs([join(await sampleDir(), "AWSLogs")], rule, window);
      expect(athena.findings).toEqual(scanned.findings);
      expect(athena.findings.length).toBeGreaterThan(2);
      expect(athena.history.foundFromMs).toBe(scanned.history.foundFromMs);
      expect(athena.history.records).toBe(scanned.history.records);
    });
  });
});

describe("copies: each request counts once per account and requestId, as in the scanner", () => {
  const at = Date.parse("2026-11-19T10:00:00Z");
  const window = { startMs: at - HOUR_MS, endMs: at + HOUR_MS };
  const record = (
    requestId: string,
    promptTokens: number,
    extra: Partial<Parameters<typeof rawRecord>[0]> = {},
  ) =>
    rawRecord({
      accountId: "111111111111",
      promptTokens,
      completionTokens: 10,
      requestId,
      timestamp: new Date(at).toISOString(),
      ...extra,
    });

  it("a record delivered twice counts once for every detection", async () => {
    const heavy = record("00000000-0000-4000-8000-000000000001", 9000);
    const other = record("00000000-0000-4000-8000-000000000002", 9500);
    const lines = [heavy, heavy, other, other];
    await load(delivered(lines));
    const rule = defineRule({});
    const athena = await athenaEvaluation(rule, window);
    expect(athena.findings).toEqual(scannerEvaluation(lines, rule, window).evaluation.findings);
    expect(athena.findings[0]?.requestCount).toBe(2);
    expect(athena.usage.groups.reduce((n, g) => n + g.requests, 0)).toBe(2);
  });

  it("a matching variant after a light one with the same id counts for the hunt only, in its own group", async () => {
    const light = record("r-1", 10);
    const variant = record("r-1", 9000, { modelId: "meta.llama3-1-70b-instruct-v1:0" });
    const second = record("r-2", 9100, { timestamp: new Date(at + 1000).toISOString() });
    // Read in time order (then by text), the order the SQL takes copies in.
    const lines = [light, variant, second].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    await load(delivered(lines));
    const rule = defineRule({});
    const athena = await athenaEvaluation(rule, window);
    const scanner = scannerEvaluation(lines, rule, window);
    expect(athena.findings).toEqual(scanner.evaluation.findings);
    expect(athena.findings[0]?.requestCount).toBe(2);
    // The variant's group has no request of its own: the row says so and parseUsageRows keeps it.
    expect(athena.usage.groups.find((g) => g.modelId === "meta.llama3-1-70b-instruct-v1:0")?.requests).toBe(
      0,
    );
  });

  it("deviation: copies that differ are taken in time order, the scanner takes them in read order", async () => {
    // Elastic's test data reuses ids for variants of a call; Bedrock's own copies are the same line.
    const early = record("r-1", 9000);
    const late = record("r-1", 10, { timestamp: new Date(at + 60_000).toISOString() });
    await load(delivered([late, early]));
    const rule = defineRule({ minRequests: 1 });
    const athena = await athenaEvaluation(rule, window);
    // The SQL counts the earlier (matching) copy; the scanner reading the later one first counts it instead.
    expect(athena.findings[0]?.maxPromptTokens).toBe(9000);
    expect(athena.findings).toEqual(scannerEvaluation([early, late], rule, window).evaluation.findings);
    expect(scannerEvaluation([late, early], rule, window).evaluation.findings[0]?.requestCount).toBe(1);
    expect(athena.usage.groups.reduce((n, g) => n + g.requests, 0)).toBe(1);
  });
});

describe("hostile records", () => {
  const rule = defineRule({ modelThresholds: [PER_MODEL[0] as (typeof PER_MODEL)[number]] });

  it("each record the contract binds a raw-text engine on gives the scanner's usage group; imitations never lower a value", async () => {
    let compared = 0;
    let imitations = 0;
    await fc.assert(
      fc.asyncProperty(adversarialRecord({ rawNewlines: false, maxDepth: 300 }), async (g) => {
        const e = referenceRead(g.text);
        if (e === null || e.timestampMs < 0 || !g.bedrockShaped) return;
        const start = Math.floor(e.timestampMs / HOUR_MS) * HOUR_MS;
        const window = { startMs: start, endMs: start + HOUR_MS };
        await load([deliveredLine(g.text, e.accountId, e.timestampMs)]);
        const { groups, rejected, rejectedValues } = parseUsageRows(
          await archive.query(buildAthenaUsageQuery(rule, window, TABLE)),
          window,
        );
        expect([...rejected, ...rejectedValues]).toEqual([]);
        expect(groups).toHaveLength(1);
        const got = groups[0];
        if (!got) return;
        const { accountId: _a, identityArn: _i, modelId: _m, ...hunt } = groupOf(e);
        const want = usageOfRecord(e, matches(e, rule) ? hunt : null, rule.cachedInputTokens);
        if (!g.imitation) {
          compared++;
          expect({ ...got, identityArn: null, modelId: null }).toEqual({
            ...want,
            identityArn: null,
            modelId: null,
          });
          return;
        }
        // detection-rule.md: a free-form object imitating record keys may raise a value or supply a missing
        // one (docs/athena.md lists it), never lower one that is present, nor change the record's time.
        imitations++;
        expect(got.accountId).toBe(want.accountId);
        expect(got.firstSeenMs).toBe(want.firstSeenMs);
        expect(got.inputTokens).toBeGreaterThanOrEqual(want.inputTokens);
        expect(got.outputTokens).toBeGreaterThanOrEqual(want.outputTokens);
      }),
      { numRuns: 400 },
    );
    // About one generated record in eight is bound exactly (valid, Bedrock-shaped, no imitation).
    expect(compared).toBeGreaterThan(25);
    expect(imitations).toBeGreaterThan(15);
  });

  it("many hostile records with the same requestId: copies and variants counted as the scanner counts them", async () => {
    const window = { startMs: Date.parse("2026-11-19T00:00:00Z"), endMs: Date.parse("2026-11-20T02:00:00Z") };
    const folders = () => [datehourRange(window), datehourRange(historyWindowOf(rule, window))];
    const read = (folder: string) => folders().some((r) => folder >= r.from && folder <= r.to);
    // One request per account and id: minRequests 1 lets the hunt and cached-input fire.
    const once = { ...rule, minRequests: 1 };
    let copies = 0;
    let hunted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(adversarialRecord({ rawNewlines: false, maxDepth: 50 }), { minLength: 2, maxLength: 40 }),
        async (generated) => {
          // Every record says requestId "r-1": in one account, all but the first are copies or variants.
          const lines = generated.flatMap((g) => {
            const e = referenceRead(g.text);
            if (e === null || !g.bedrockShaped || g.imitation) return [];
            const line = deliveredLine(g.text, e.accountId, e.timestampMs);
            return read(line.datehour) ? [{ line, ms: e.timestampMs }] : [];
          });
          // The scanner reads the same objects, in the order the SQL takes copies in: by time, then by text.
          lines.sort(
            (a, b) => a.ms - b.ms || Buffer.compare(Buffer.from(a.line.line), Buffer.from(b.line.line)),
          );
          await load(lines.map((l) => l.line));
          const scanner = scannerEvaluation(
            lines.map((l) => l.line.line),
            once,
            window,
          );
          copies += scanner.stats.copies;
          const athena = await athenaEvaluation(once, window);
          expect(athena.findings).toEqual(scanner.evaluation.findings);
          hunted += fired(athena.findings, "heavy-requests").length;
        },
      ),
      { numRuns: 150 },
    );
    expect(copies).toBeGreaterThan(10);
    expect(hunted).toBeGreaterThan(4);
  });

  it("every timestamp form of the contract, at the window's edges: offsets and fractions of any length", async () => {
    const window = { startMs: Date.parse("2026-11-20T00:00:00Z"), endMs: Date.parse("2026-11-20T01:00:00Z") };
    const stamps = [
      "2026-11-19T23:59:59.9999Z", // just before: out
      `2026-11-19T23:59:59.${"9".repeat(25)}Z`, // just before: out
      "2026-11-20T01:00:00.000001+01:00", // 00:00:00.000001Z: in
      "2026-11-19T20:00:00-04:00", // 00:00Z: in
      "2026-11-20T00:59:59.999+00:00", // in
      "2026-11-20T02:00:00+01:00", // 01:00Z: the end, out
      "2026-02-29T00:00:00Z", // no such day: malformed
      "2026-11-20T00:30:00", // no zone: malformed
      "2026-11-20T00:30Z", // no seconds: malformed
    ];
    const lines = stamps.map((timestamp, i) =>
      rawRecord({ accountId: "111111111111", promptTokens: 1, requestId: `r-${i}`, timestamp }),
    );
    await load(
      lines.map((line) => ({
        line,
        account: "111111111111",
        region: "us-east-1",
        datehour: "2026/11/20/00",
      })),
    );
    const usage = parseUsageRows(
      await archive.query(buildAthenaUsageQuery(defineRule({}), window, TABLE)),
      window,
    );
    expect(usage.groups.reduce((n, g) => n + g.requests, 0)).toBe(3);
    expect(scannerEvaluation(lines, defineRule({}), window).stats.recordsInWindow).toBe(3);
    expect(usage.groups[0]?.firstSeenMs).toBe(window.startMs);
  });

  it("reads the exact instant of any timestamp the contract allows, and no other (calendar, offsets, fractions)", async () => {
    const pad = (n: number, w = 2) => String(n).padStart(w, "0");
    const stamp = fc
      .record({
        year: fc.oneof(fc.integer({ min: 1970, max: 9998 }), fc.constantFrom(2000, 2100, 2024, 2023, 1972)),
        month: fc.integer({ min: 0, max: 13 }),
        day: fc.oneof(fc.integer({ min: 0, max: 32 }), fc.constantFrom(28, 29, 30, 31)),
        hour: fc.integer({ min: 0, max: 24 }),
        minute: fc.integer({ min: 0, max: 60 }),
        second: fc.integer({ min: 0, max: 60 }),
        fraction: fc.option(fc.stringMatching(/^[0-9]{0,14}$/), { nil: undefined }),
        zone: fc.oneof(
          fc.constant("Z"),
          fc
            .tuple(
              fc.constantFrom("+", "-"),
              fc.integer({ min: 0, max: 24 }),
              fc.integer({ min: 0, max: 60 }),
            )
            .map(([sign, h, m]) => `${sign}${pad(h)}:${pad(m)}`),
        ),
      })
      .map(
        (t) =>
          `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}T${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)}` +
          `${t.fraction === undefined ? "" : `.${t.fraction}`}${t.zone}`,
      );
    const stamps = fc.sample(stamp, { numRuns: 400, seed: 19 });
    // One account per record: each group's first seen is its record's instant.
    const account = (i: number) => String(100_000_000_000 + i);
    const lines = stamps.map((timestamp, i) =>
      rawRecord({ accountId: account(i), promptTokens: 1, requestId: `r-${i}`, timestamp }),
    );
    await load(
      lines.map((line, i) => ({ line, account: account(i), region: "us-east-1", datehour: "2026/11/19/00" })),
    );
    const window = { startMs: 0, endMs: Date.parse("9999-01-01T00:00:00Z") };
    const { groups } = parseUsageRows(
      await archive.query(buildAthenaUsageQuery(defineRule({}), window, TABLE)),
      window,
    );
    const got = new Map(groups.map((g) => [g.accountId, g.firstSeenMs]));
    let valid = 0;
    stamps.forEach((timestamp, i) => {
      const ms = parseRecordTimestamp(timestamp);
      const want = ms !== null && ms >= window.startMs && ms < window.endMs ? ms : undefined;
      if (want !== undefined) valid++;
      expect(got.get(account(i)), timestamp).toBe(want);
    });
    expect(valid).toBeGreaterThan(50);
    expect(valid).toBeLessThan(stamps.length);
  });

  it("deviation: text a raw-text engine cannot tell from a record (invalid JSON, duplicate keys) is read as it looks", async () => {
    const at = Date.parse("2026-11-19T10:00:00Z");
    const window = { startMs: at, endMs: at + HOUR_MS };
    const valid = rawRecord({
      accountId: "111111111111",
      promptTokens: 9000,
      timestamp: new Date(at).toISOString(),
    });
    const leadingZero = valid.replace('"region"', '"n":012,"region"');
    const duplicate = valid.replace(/\}$/, ',"accountId":"222222222222"}');
    const truncated = valid.slice(0, valid.length - 20);
    for (const text of [leadingZero, duplicate, truncated]) {
      await load([deliveredLine(text, "111111111111", at)]);
      const rows = await archive.query(buildAthenaUsageQuery(defineRule({}), window, TABLE));
      const scanner = scannerEvaluation([text], defineRule({}), window);
      if (text === truncated) {
        // Not an object from `{` to `}`: skipped, as the scanner skips it.
        expect(rows).toEqual([]);
        expect(scanner.stats.recordsRead).toBe(0);
      } else if (text === leadingZero) {
        // Invalid JSON (Bedrock never writes it): malformed for the scanner, a record for the SQL.
        expect(scanner.stats.recordsRead).toBe(0);
        expect(rows.map((r) => r.account)).toEqual(["111111111111"]);
      } else {
        // Duplicate keys: the last wins for the scanner; the SQL takes the first accountId.
        expect(scanner.evaluation.aggregates.has("222222222222")).toBe(true);
        expect(rows.map((r) => r.account)).toEqual(["111111111111"]);
      }
    }
  });
});

describe("the query text", () => {
  const window = { startMs: Date.parse("2026-11-19T00:30:00Z"), endMs: Date.parse("2026-11-20T00:00:00Z") };

  it("constrains the partitions to the window's hour folders and reads nothing outside them", async () => {
    const sql = buildAthenaUsageQuery(defineRule({}), window, TABLE);
    const { from, to } = datehourRange(window);
    expect(sql).toContain(`datehour BETWEEN '${from}' AND '${to}'`);
    const at = Date.parse("2026-11-19T10:00:00Z");
    const line = rawRecord({
      accountId: "111111111111",
      promptTokens: 1,
      timestamp: new Date(at).toISOString(),
    });
    // The same record filed under an hour folder outside the range is not read: the constraint is real.
    await load([{ ...deliveredLine(line, "111111111111", at), datehour: "2026/11/21/00" }]);
    expect(await archive.query(sql)).toEqual([]);
    await load([deliveredLine(line, "111111111111", at)]);
    expect(await archive.query(sql)).toHaveLength(1);
    const history = buildAthenaHistoryQuery(defineRule({}), window, TABLE);
    expect(history).toContain("datehour BETWEEN '2026/11/11/23' AND '2026/11/19/01'");
  });

  it("leaves out the rule's excluded accounts in the query itself", async () => {
    const at = Date.parse("2026-11-19T10:00:00Z");
    const line = rawRecord({
      accountId: "111111111111",
      promptTokens: 1,
      timestamp: new Date(at).toISOString(),
    });
    await load([deliveredLine(line, "111111111111", at)]);
    const rule = defineRule({ excludedAccountIds: ["111111111111"] });
    expect(await archive.query(buildAthenaUsageQuery(rule, window, TABLE))).toEqual([]);
    expect(
      await archive.query(buildAthenaUsageQuery(rule, window, TABLE, { excludeAccountIds: [] })),
    ).toHaveLength(1);
    expect(
      await archive.query(
        buildAthenaUsageQuery(defineRule({}), window, TABLE, { onlyAccountIds: ["222222222222"] }),
      ),
    ).toEqual([]);
  });

  it("refuses every value that could change the query's meaning", () => {
    const rule = defineRule({});
    const refused = [
      () => buildAthenaUsageQuery(rule, window, { database: "archive", table: "t' OR '1'='1" }),
      () => buildAthenaUsageQuery(rule, window, { database: 'x"; DROP TABLE y; --', table: "t" }),
      () => buildAthenaUsageQuery(rule, window, { database: "Archive", table: "t" }),
      () => buildAthenaUsageQuery(rule, window, TABLE, { excludeAccountIds: ["1') OR ('1'='1"] }),
      () => buildAthenaUsageQuery(rule, window, TABLE, { onlyAccountIds: ["12345678901"] }),
      () => buildAthenaUsageQuery(rule, { startMs: 0.5, endMs: 10 }, TABLE),
      () => buildAthenaUsageQuery(rule, { startMs: 10, endMs: 5 }, TABLE),
      () =>
        buildAthenaUsageQuery(
          { ...rule, modelThresholds: [{ prefix: "x' OR '1'='1", thresholds: rule.thresholds }] },
          window,
          TABLE,
        ),
      () =>
        buildAthenaUsageQuery(
          { ...rule, thresholds: { ...rule.thresholds, promptTokens: Number.NaN } },
          window,
          TABLE,
        ),
      () => buildAthenaUsageQuery({ ...rule, excludedAccountIds: ["111111111111' --"] }, window, TABLE),
      () => buildAthenaHistoryQuery({ ...rule, baselineDays: 1.5 }, window, TABLE),
      () =>
        athenaSavedQueries(
          { ...rule, excludedIdentityPatterns: ["arn:aws:iam::*:user/x' OR '1'='1"] },
          TABLE,
        ),
      () => athenaSavedQueries({ ...rule, anomalyFactor: Number.POSITIVE_INFINITY }, TABLE),
      () => athenaSavedQueries(rule, { database: "a.b", table: "t" }),
    ];
    for (const build of refused) expect(build).toThrow(RangeError);
  });

  it("fits Athena's query length with every setting at its largest", () => {
    const rule = defineRule({
      modelThresholds: Array.from({ length: MAX_MODEL_THRESHOLDS }, (_, i) => ({
        prefix: `model-${i}.`.padEnd(200, "x"),
        thresholds: { promptTokens: 1, requestSize: 1, completionTokens: 1 },
      })),
      excludedAccountIds: Array.from({ length: MAX_EXCLUDED_ACCOUNTS }, (_, i) =>
        String(100_000_000_000 + i),
      ),
      excludedIdentityPatterns: Array.from(
        { length: 50 },
        (_, i) => `arn:aws:iam::*:user/${"u".repeat(100)}${i}*`,
      ),
    });
    const texts = [
      buildAthenaUsageQuery(rule, window, TABLE),
      buildAthenaHistoryQuery(rule, window, TABLE),
      ...athenaSavedQueries(rule, TABLE).map((q) => q.queryString),
    ];
    for (const sql of texts) expect(Buffer.byteLength(sql)).toBeLessThan(MAX_ATHENA_QUERY_BYTES);
  });

  it("reads the table once per query: no CTE is referenced twice (Trino inlines CTEs; Athena bills each scan)", () => {
    const rule = defineRule({ modelThresholds: PER_MODEL });
    const texts = [
      buildAthenaUsageQuery(rule, window, TABLE),
      buildAthenaHistoryQuery(rule, window, TABLE),
      ...athenaSavedQueries(rule, TABLE).map((q) => q.queryString),
    ];
    for (const sql of texts) {
      const ctes = [...sql.matchAll(/(\w+) AS \(\n/g)].map((m) => m[1] ?? "");
      expect(ctes.length).toBeGreaterThan(5);
      for (const name of [...ctes, `"${TABLE.database}"."${TABLE.table}"`]) {
        const uses = sql
          .split(/\b(?:FROM|JOIN)\s+/)
          .slice(1)
          .filter((rest) => rest.startsWith(name));
        expect(uses.length, name).toBeLessThanOrEqual(1);
      }
    }
  });

  it("keeps its regular expressions to what Java (joni) and RE2 read alike", () => {
    const rule = defineRule({
      modelThresholds: PER_MODEL,
      excludedIdentityPatterns: ["arn:aws:iam::*:user/x*"],
    });
    const texts = [
      buildAthenaUsageQuery(rule, window, TABLE),
      buildAthenaHistoryQuery(rule, window, TABLE),
      ...athenaSavedQueries(rule, TABLE).map((q) => q.queryString),
    ];
    for (const sql of texts) {
      const patterns = [...sql.matchAll(/regexp_(?:extract|like)\([^,]+, '([^']*)'/g)].map((m) => m[1] ?? "");
      expect(patterns.length).toBeGreaterThan(1);
      for (const p of patterns) {
        // No lookaround, named groups or backreferences; no \d or \w (Unicode classes in joni).
        expect(p).not.toMatch(/\(\?<|\(\?[=!]|\\[1-9dDwW]/);
        expect(() => new RegExp(p)).not.toThrow();
      }
    }
  });

  it("is the same text for the same inputs, and DuckDB needs only the listed rewrites", () => {
    const rule = defineRule({ modelThresholds: PER_MODEL });
    const sql = buildAthenaUsageQuery(rule, window, TABLE);
    expect(buildAthenaUsageQuery(rule, window, TABLE)).toBe(sql);
    // The usage query uses none of the renamed functions but regexp_like.
    const rewritten = toDuckDb(sql);
    expect(rewritten.replace(/regexp_matches\(/g, "regexp_like(")).toBe(sql);
  });
});

describe("saved queries for the Athena console", () => {
  const names = ["heavy-requests", "cached-input", "token-volume", "anomaly"];

  it("one per detection, each constraining the partitions", () => {
    const saved = athenaSavedQueries(defineRule({}), TABLE);
    expect(saved.map((q) => q.name)).toEqual(names);
    for (const q of saved) {
      expect(q.queryString).toMatch(/datehour BETWEEN date_format\(current_timestamp/);
      expect(q.description.length).toBeGreaterThan(20);
    }
  });

  /** Each saved query, run at the window's end, returns the accounts the scanner flags for its detection. */
  async function expectScannerAccounts(rule: Rule, window: Window, scanner: Finding[]) {
    for (const q of athenaSavedQueries(rule, TABLE)) {
      const rows = await archive.query(q.queryString, window.endMs);
      const accounts = rows.map((r) => r.account ?? "").sort();
      expect(accounts, q.name).toEqual(fired(scanner, q.name as DetectionName).sort());
    }
  }
  const RULES = [
    defineRule({}),
    defineRule({ modelThresholds: PER_MODEL, minRequests: 1, baselineDays: 0, anomalyFactor: 2.5 }),
  ];

  it("return the accounts the scanner flags for each detection (detection cases, anomaly cases)", async () => {
    const cases: [string[], Window][] = [
      [detectionCorpus(), DAY],
      [anomalyLines().map((l) => l.text), ANOMALY_WINDOW],
    ];
    for (const [lines, window] of cases) {
      await load(delivered(lines));
      for (const rule of RULES)
        await expectScannerAccounts(rule, window, scannerEvaluation(lines, rule, window).evaluation.findings);
    }
  });

  it("return the accounts the scanner flags for each detection (sample corpus, with exclusions)", async () => {
    await load(await archiveLinesUnder(await sampleDir()));
    const excluding = defineRule({
      excludedAccountIds: [SAMPLE_ABUSIVE[1] as string],
      excludedIdentityPatterns: ["arn:aws:sts::*:assumed-role/etl/*"],
    });
    const scanned = await scanLogs([join(await sampleDir(), "AWSLogs")], excluding, SAMPLE_WINDOW);
    expect(scanned.findings.length).toBeGreaterThan(2);
    await expectScannerAccounts(excluding, SAMPLE_WINDOW, scanned.findings);
  }, 180_000);
});
