/**
 * Every CloudWatch export format the scanner reads (issue 19) scans to exactly the findings and statistics of
 * the same records as JSON lines: the sample generator's records (copies included), the detection cases and
 * hostile generated records (bodies imitating record keys, broken records), from files and gzip, with BOM and
 * CRLF. Malformed records inside an export are named by their place; a JSON document of another shape is one
 * error for its file.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { benchLines } from "../../cli/sample-data.js";
import { type ScanResult, scanLogs } from "../../cli/scan.js";
import { DEFAULT_RULE } from "../../config/rule-settings.js";
import { readRecord } from "../../core/record-reader.js";
import type { Window } from "../../core/rule.js";
import { adversarialRecord } from "../helpers/adversarial.js";
import { DAY, detectionCorpus } from "../helpers/detection-cases.js";
import {
  CONTROL_ENVELOPE,
  dataEnvelope,
  firehoseGzip,
  firehoseText,
  insightsCsv,
  insightsJson,
  logEvents,
  queryResults,
} from "../helpers/exports.js";
import { rawRecord } from "../helpers/records.js";

const dir = mkdtempSync(join(tmpdir(), "bdd-exports-"));
let fileNo = 0;
function file(content: string | Buffer, name = `input-${++fileNo}`): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function scan(path: string, window: Window) {
  const malformed: string[] = [];
  const result = await scanLogs([path], DEFAULT_RULE, window, {
    onMalformed: (location, reason) => malformed.push(`${location.replace(`${dir}/`, "")}: ${reason}`),
  });
  return { result, malformed };
}

/** What must not differ between a format and the JSON lines: findings, history, statistics, record span. */
const outcome = (r: ScanResult, withMalformed = true) => {
  const { malformedLines, ...stats } = r.stats;
  return {
    findings: r.findings,
    history: r.history,
    stats: withMalformed ? r.stats : stats,
    recordSpan: r.recordSpan,
    fileErrors: r.fileErrors.length,
  };
};

const END = Date.parse("2026-11-20T00:00:00Z");
const LAST_DAY: Window = { startMs: END - 86_400_000, endMs: END };

const sample: string[] = [];
for (const l of benchLines(11, END)) {
  sample.push(l);
  if (sample.length >= 700) break;
}
const detection = detectionCorpus();
const hostile = fc
  .sample(adversarialRecord({ rawNewlines: false, maxDepth: 5 }), { numRuns: 400, seed: 19 })
  .map((r) => r.text);

type Builder = (messages: readonly string[]) => string | Buffer;
/** Each format, in the variants its producers write. */
const FORMATS: Record<string, Builder> = {
  "insights JSON": (m) => insightsJson(m),
  "insights JSON, BOM and CRLF": (m) => insightsJson(m, { bom: true, crlf: true }),
  "insights CSV": (m) => insightsCsv(m),
  "insights CSV, BOM, CRLF, more columns": (m) =>
    insightsCsv(m, { bom: true, crlf: true, columns: ["@logStream", "@message", "@timestamp", "@ptr"] }),
  "get-query-results": (m) => queryResults(m),
  "get-query-results, gzip": (m) => gzipSync(queryResults(m)),
  "filter-log-events, 3 pages concatenated": (m) => logEvents(m, { pages: 3 }),
  "filter-log-events, gzip and CRLF": (m) => gzipSync(logEvents(m, { crlf: true })),
  "Firehose, back to back": (m) => firehoseText(m),
  "Firehose, gzip": (m) => firehoseGzip(m, { perEnvelope: 25 }),
  "Firehose, one envelope a line": (m) => firehoseText(m, { newlines: true, perEnvelope: 3 }),
};

describe("each export format scans as the same records as JSON lines", () => {
  const corpora: [string, readonly string[], Window][] = [
    ["the sample generator's records", sample, LAST_DAY],
    ["the detection cases", detection, DAY],
  ];
  for (const [corpus, messages, window] of corpora) {
    it(`${corpus}: findings, history and every statistic equal`, async () => {
      const lines = await scan(file(`${messages.join("\n")}\n`), window);
      expect(lines.result.findings.length).toBeGreaterThan(0);
      for (const [name, build] of Object.entries(FORMATS)) {
        const got = await scan(file(build(messages)), window);
        expect({ name, ...outcome(got.result) }).toEqual({ name, ...outcome(lines.result) });
        expect(got.malformed).toEqual([]);
      }
    });
  }

  it("hostile records (look-alike keys, broken records): the same records, each broken one reported", async () => {
    const broken = hostile.filter((t) => !readRecord(t).ok).length;
    expect(broken).toBeGreaterThan(0);
    const window: Window = {
      startMs: Date.parse("2000-01-01T00:00:00Z"),
      endMs: Date.parse("2100-01-01T00:00:00Z"),
    };
    const lines = await scan(file(`${hostile.join("\n")}\n`), window);
    expect(lines.result.stats.recordsRead).toBe(hostile.length - broken);
    for (const [name, build] of Object.entries(FORMATS)) {
      const got = await scan(file(build(hostile)), window);
      expect({ name, ...outcome(got.result, false) }).toEqual({ name, ...outcome(lines.result, false) });
      // In an export each message is read alone: one malformed item per broken record, named by its place.
      expect({ name, malformed: got.result.stats.malformedLines }).toEqual({ name, malformed: broken });
    }
  });
});

describe("malformed records inside an export are named by their place", () => {
  const good = (n: number) => rawRecord({ accountId: "111111111111", promptTokens: n });
  const messages = [good(1), good(2), '{"timestamp":"2026-11-19T10:00:00Z"}', good(4), "not json"];
  const window = LAST_DAY;

  it("record and line in documents and CSV, envelope and event in Firehose", async () => {
    const named = async (content: string | Buffer, name: string) =>
      (await scan(file(content, name), window)).malformed;
    expect(await named(insightsJson(messages), "export.json")).toEqual([
      "export.json: record 3 (line 14): record has no accountId",
      "export.json: record 5 (line 26): not a JSON object",
    ]);
    expect(await named(queryResults(messages), "results.json")).toEqual([
      expect.stringMatching(/^results\.json: record 3 \(line \d+\): record has no accountId$/),
      expect.stringMatching(/^results\.json: record 5 \(line \d+\): not a JSON object$/),
    ]);
    expect(await named(logEvents(messages, { pages: 2 }), "events.json")).toEqual([
      expect.stringMatching(/^events\.json: record 3 \(line \d+\): record has no accountId$/),
      expect.stringMatching(/^events\.json: record 5 \(line \d+\): not a JSON object$/),
    ]);
    expect(await named(insightsCsv(messages), "export.csv")).toEqual([
      "export.csv: record 3 (line 4): record has no accountId",
      "export.csv: record 5 (line 6): not a JSON object",
    ]);
    expect(await named(firehoseGzip(messages, { perEnvelope: 2 }), "firehose")).toEqual([
      "firehose: envelope 3 event 1: record has no accountId",
      "firehose: envelope 4 event 1: not a JSON object",
    ]);
  });

  it("a CSV @message spanning lines counts its lines", async () => {
    const pretty = JSON.stringify(JSON.parse(good(7)), null, 2);
    const { result, malformed } = await scan(file(insightsCsv([pretty, "{", good(8)]), "multi.csv"), window);
    expect(result.stats.recordsRead).toBe(2);
    expect(malformed).toEqual([
      `multi.csv: record 2 (line ${2 + pretty.split("\n").length}): invalid JSON: unexpected end of JSON`,
    ]);
  });

  it("a broken envelope costs only itself: its whole events are read, the envelopes after it too", async () => {
    const second = dataEnvelope([good(3), good(4), good(5)]);
    const text =
      CONTROL_ENVELOPE +
      dataEnvelope([good(1), good(2)]) +
      second.slice(0, second.lastIndexOf('{"id"') + 30) +
      dataEnvelope([good(6)]);
    const { result, malformed } = await scan(file(gzipSync(text), "cut-envelope"), window);
    expect(result.stats.recordsRead).toBe(5);
    expect(malformed).toEqual([
      "cut-envelope: envelope 3: envelope is not valid JSON (cut off or damaged; the whole events in it are read)",
    ]);
  });

  it("an export cut off at its end: the records before it are read, the cut one is reported", async () => {
    const json = insightsJson([good(1), good(2), good(3)]);
    const cut = json.slice(0, json.lastIndexOf('"@message"') + 30);
    const { result, malformed } = await scan(file(cut, "cut.json"), window);
    expect(result.stats.recordsRead).toBe(2);
    expect(malformed).toEqual([
      expect.stringMatching(/^cut\.json: record 3 \(line \d+\): record is cut off at the end of the file$/),
    ]);
    const csv = insightsCsv([good(1), good(2)]);
    const csvCut = await scan(file(csv.slice(0, csv.length - 40), "cut.csv"), window);
    expect(csvCut.result.stats.recordsRead).toBe(1);
    expect(csvCut.malformed).toEqual([
      "cut.csv: record 2 (line 3): record is cut off at the end of the file",
    ]);
  });
});

describe("a JSON file of a shape the scanner does not read is one error for it", () => {
  const record = rawRecord({ accountId: "111111111111", promptTokens: 9 });
  const cases: [string, string, RegExp][] = [
    [
      "object.json",
      '{"foo": 1, "bar": [2]}\n',
      /it holds a JSON document: an object with the keys foo, bar;/,
    ],
    ["numbers.json", "[1, 2, 3]", /it holds a JSON array whose first element is a number;/],
    [
      "rows.json",
      '[{"@timestamp": "x", "count": 3}]',
      /objects with the keys @timestamp, count \(no @message\)/,
    ],
    [
      "stats.json",
      JSON.stringify({ results: [[{ field: "count(*)", value: "3" }]], status: "Complete" }),
      /get-query-results output whose rows have no @message field \(fields: count\(\*\)\)/,
    ],
    [
      "events.json",
      JSON.stringify({ events: [{ timestamp: 1 }] }),
      /events have no message \(keys: timestamp\)/,
    ],
    [
      "stats.csv",
      "@timestamp,count\n2026-11-19 10:00:00.000,3\n",
      /a CSV header with the columns @timestamp, count and no @message column/,
    ],
  ];
  for (const [name, content, what] of cases) {
    it(`${name}: the error says what it holds and what the scanner reads`, async () => {
      const good = file(`${record}\n`, `good-${name}`);
      const bad = file(content, name);
      const r = await scanLogs([good, bad], DEFAULT_RULE, LAST_DAY);
      expect(r.stats.malformedLines).toBe(0);
      expect(r.stats.recordsRead).toBe(1);
      expect(r.fileErrors).toHaveLength(1);
      expect(r.fileErrors[0]).toMatch(
        new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: not a log format the scanner reads: `),
      );
      expect(r.fileErrors[0]).toMatch(what);
      expect(r.fileErrors[0]).toContain("it reads JSON lines of Bedrock records");
    });
  }

  it("JSON lines with broken lines stay malformed lines; a lone pretty-printed record is read", async () => {
    const lines = file(`{"foo": 1}\n${record}\n{"bar": 2}\n`);
    const r = await scanLogs([lines], DEFAULT_RULE, LAST_DAY);
    expect([r.stats.recordsRead, r.stats.malformedLines, r.fileErrors]).toEqual([1, 2, []]);
    const reordered = JSON.stringify({ zzz: 1, ...JSON.parse(record) }, null, 2);
    const one = await scanLogs([file(reordered)], DEFAULT_RULE, LAST_DAY);
    expect([one.stats.recordsRead, one.stats.malformedLines, one.fileErrors]).toEqual([1, 0, []]);
  });
});

describe("hostile exports", () => {
  const record = rawRecord({ accountId: "111111111111", promptTokens: 9 });
  const deep = "[".repeat(1_000_000);
  const cases: [string, string | Buffer, number][] = [
    [
      "a million nested arrays in an Insights JSON row",
      `[{"@message": ${JSON.stringify(record)}}, ${deep}`,
      1,
    ],
    [
      "a million nested arrays in get-query-results",
      `{"results": [[{"field": "@message", "value": ${JSON.stringify(record)}}], ${deep}`,
      1,
    ],
    [
      "a million nested arrays in a Firehose envelope",
      gzipSync(`${dataEnvelope([record])}{"messageType":"DATA_MESSAGE","logEvents":${deep}`),
      1,
    ],
    [
      "an unbalanced quote in a CSV row",
      insightsCsv([record, record, record])
        .split("\n")
        .map((row, k) => (k === 2 ? `"${row}` : row))
        .join("\n"),
      1,
    ],
  ];
  for (const [name, content, recordsRead] of cases) {
    it(`${name}: the records before it read, one malformed item, no crash`, async () => {
      const { result, malformed } = await scan(file(content), LAST_DAY);
      expect(result.fileErrors).toEqual([]);
      expect(result.stats.recordsRead).toBe(recordsRead);
      expect(malformed).toHaveLength(1);
    });
  }
});
