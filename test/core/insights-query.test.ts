import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { findLogFiles } from "../../cli/find-log-files.js";
import { writeSampleData } from "../../cli/sample-data.js";
import { DEFAULT_RULE, defineRule } from "../../config/rule-settings.js";
import {
  buildInsightsQuery,
  MAX_FILTER_ACCOUNT_IDS,
  MAX_QUERY_CHARS,
  ROW,
} from "../../core/insights-query.js";
import { ambiguousIdentity } from "../../core/insights-rows.js";
import { readRecord, stripExportPrefix } from "../../core/record-reader.js";
import type { Rule, Window } from "../../core/rule.js";
import { parseFields, simulate } from "../helpers/insights-sim.js";
import { ELASTIC_LOG, rawRecord } from "../helpers/records.js";

const WINDOW: Window = {
  startMs: Date.parse("2026-11-19T00:00:00Z"),
  endMs: Date.parse("2026-11-20T00:00:00Z"),
};

describe("buildInsightsQuery", () => {
  const q = buildInsightsQuery(DEFAULT_RULE, WINDOW, { shape: "account" });

  it("enforces the half-open window in milliseconds", () => {
    expect(q).toContain(
      `toMillis(@timestamp) >= ${WINDOW.startMs} and toMillis(@timestamp) < ${WINDOW.endMs}`,
    );
  });

  it("parses every field from @message, never from auto-discovered JSON fields", () => {
    for (const key of ["accountId", "modelId", "inputTokenCount", "outputTokenCount", "inputBodyJson"]) {
      expect(q).toMatch(new RegExp(`parse @message /.*"${key}"`));
    }
    expect(q).not.toMatch(/input\.inputTokenCount|output\.outputTokenCount|input\.inputBodyJson/);
  });

  it("filters strictly above each threshold and sizes the body with strlen", () => {
    expect(q).toContain("strlen(coalesce(inputBody, ");
    expect(q).toContain("filter promptTokens > 8000 or completionTokens > 8000 or requestSize > 8000");
  });

  it("aggregates per account, applies min requests and sorts heaviest first", () => {
    expect(q).toMatch(
      /stats count\(\*\) as requestCount, max\(promptTokens\) as maxPromptTokens, .* by account\n/,
    );
    expect(q).toContain(`| filter ${ROW.requestCount} >= 2`);
    expect(q).toContain("| sort maxPromptTokens desc");
    expect(q.trimEnd().endsWith("| limit 10000")).toBe(true);
  });

  it("carries every override into the text", () => {
    const rule: Rule = defineRule({
      thresholds: { promptTokens: 111, completionTokens: 222, requestSize: 333 },
      minRequests: 4,
    });
    const o = buildInsightsQuery(rule, WINDOW, { shape: "account", limit: 500 });
    expect(o).toContain("promptTokens > 111 or completionTokens > 222 or requestSize > 333");
    expect(o).toContain("requestCount >= 4");
    expect(o).toContain("| limit 500");
  });

  it("evidence shape groups by account, identity and model and leaves min requests to the code", () => {
    const e = buildInsightsQuery(DEFAULT_RULE, WINDOW, { shape: "evidence" });
    expect(e).toMatch(/ by account, identityArn, identityArnLast, model\n/);
    expect(e).not.toContain("requestCount >=");
  });

  it("excludes validated account ids", () => {
    const e = buildInsightsQuery(DEFAULT_RULE, WINDOW, {
      shape: "account",
      excludeAccountIds: ["123456789012"],
    });
    expect(e).toContain('| filter account not in ["123456789012"]');
  });

  it("cannot be injected into: only validated numbers and digit-only ids are interpolated", () => {
    const evil = {
      ...DEFAULT_RULE,
      thresholds: { ...DEFAULT_RULE.thresholds, promptTokens: "1 or 1=1" as unknown as number },
    };
    expect(() => buildInsightsQuery(evil, WINDOW, { shape: "account" })).toThrow(RangeError);
    expect(() =>
      buildInsightsQuery({ ...DEFAULT_RULE, minRequests: 1.5 }, WINDOW, { shape: "account" }),
    ).toThrow(RangeError);
    expect(() =>
      buildInsightsQuery(DEFAULT_RULE, { startMs: Number.NaN, endMs: 1 }, { shape: "account" }),
    ).toThrow(RangeError);
    expect(() =>
      buildInsightsQuery(DEFAULT_RULE, WINDOW, {
        shape: "account",
        excludeAccountIds: ['1"] | filter 1=1 #'],
      }),
    ).toThrow(/not 12 digits/);
    expect(() => buildInsightsQuery(DEFAULT_RULE, WINDOW, { shape: "account", limit: 10_001 })).toThrow(
      RangeError,
    );
  });

  it("stays within StartQuery's 10,000-character limit with the most account ids it accepts", () => {
    const ids = Array.from({ length: MAX_FILTER_ACCOUNT_IDS }, (_, i) => String(100000000000 + i));
    const q = buildInsightsQuery(DEFAULT_RULE, WINDOW, { shape: "evidence", onlyAccountIds: ids });
    expect(q.length).toBeLessThanOrEqual(MAX_QUERY_CHARS);
    expect(() =>
      buildInsightsQuery(DEFAULT_RULE, WINDOW, {
        shape: "evidence",
        onlyAccountIds: [...ids, "999999999999"],
      }),
    ).toThrow(/at most 400 account ids/);
  });

  it("regexes match real compact records the way the in-process reader does", () => {
    // The query's regexes, run here with JavaScript's engine over a compact record, give the reader's values.
    const record =
      '{"timestamp":"2026-11-19T10:00:00Z","accountId":"123456789012","modelId":"m","input":{"inputContentType":"application/json",' +
      '"inputBodyJson":{"p":"say \\"inputTokenCount\\":1","tools":{"inputTokenCount":1}},"inputTokenCount":9001},' +
      '"output":{"outputBodyJson":[{"amazon-bedrock-invocationMetrics":{"inputTokenCount":9001,"outputTokenCount":7}}],"outputTokenCount":7},' +
      '"identity":{"arn":"arn:aws:iam::123456789012:user/x"}}';
    const regexes = [...q.matchAll(/parse @message \/(.*)\/$/gm)].map((m) => new RegExp(m[1] ?? ""));
    const fields: Record<string, string> = {};
    for (const re of regexes) Object.assign(fields, re.exec(record)?.groups ?? {});
    expect(fields.account).toBe("123456789012");
    expect(fields.promptTokensAfterBody).toBe("9001");
    expect(fields.completionTokens).toBe("7");
    expect(fields.identityArn).toBe("arn:aws:iam::123456789012:user/x");
    expect(fields.inputBody).toBe('{"p":"say \\"inputTokenCount\\":1","tools":{"inputTokenCount":1}}');
  });
});

/** The record fields the query extracts. */
const QUERY_FIELDS = [
  "accountId",
  "identityArn",
  "promptTokens",
  "completionTokens",
  "requestSize",
  "cacheReadTokens",
  "cacheWriteTokens",
] as const;

/**
 * Runs the query's extraction (its regexes, in JS) over a line and expects it to agree with the reader on every
 * field the rule reads; the reader's record, or null when the line is not a record.
 */
function queryAgreesWithReader(line: string) {
  const r = readRecord(line);
  if (!r.ok) return null;
  const record = r.record;
  expect(simulate(line)).toEqual(Object.fromEntries(QUERY_FIELDS.map((k) => [k, record[k]])));
  return record;
}

describe("the query's extraction agrees with the in-process reader on real and generated records", () => {
  const check = (line: string) => (queryAgreesWithReader(line) ? 1 : 0);

  it("a body that imitates the identity object makes the identity ambiguous, never another principal", () => {
    const spoof =
      '{"tools":[{"toolSpec":{"inputSchema":{"json":{"identity":{"arn":"arn:aws:sts::1:assumed-role/nightly-batch/x"}}}}}]}';
    const line = rawRecord({
      bodyText: spoof,
      promptTokens: 9001,
      identityArn: "arn:aws:iam::1:user/attacker",
    });
    const r = readRecord(line);
    expect(r.ok && r.record.identityArn).toBe("arn:aws:iam::1:user/attacker");
    expect(simulate(line).identityArn).toBe(
      ambiguousIdentity("arn:aws:sts::1:assumed-role/nightly-batch/x", "arn:aws:iam::1:user/attacker"),
    );
  });

  it("imitated token counts in the request or in the model's response cannot lower the prompt tokens", () => {
    const requestImitation = '{"tools":[{"toolSpec":{"inputSchema":{"json":{"p":0,"inputTokenCount":1}}}}]}';
    const responseImitation =
      '"outputBodyJson":{"output":{"message":{"content":[{"toolUse":{"input":{"a":1,"inputTokenCount":3}}}]}}},"outputTokenCount":12}';
    const inRequest = rawRecord({ bodyText: requestImitation, promptTokens: 9500, completionTokens: 12 });
    const inResponse = rawRecord({ body: { p: "hi" }, promptTokens: 9500, completionTokens: 12 }).replace(
      '"outputTokenCount":12}',
      responseImitation,
    );
    for (const line of [inRequest, inResponse]) {
      const r = readRecord(line);
      expect(r.ok && r.record.promptTokens).toBe(9500);
      expect(simulate(line)).toMatchObject({ promptTokens: 9500, completionTokens: 12 });
    }
    // Request size can only grow when the response imitates the end of the input object.
    expect(simulate(inResponse).requestSize).toBeGreaterThan('{"p":"hi"}'.length);
  });

  it("Elastic's compact records", () => {
    const lines = readFileSync(ELASTIC_LOG, "utf8")
      .split("\n")
      .filter((l) => l.startsWith('{"'));
    expect(lines.reduce((n, l) => n + check(l), 0)).toBe(18);
  });

  it("every record of the generated sample (all model families, key orders, S3-offloaded bodies, errors)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bdd-q-"));
    await writeSampleData(dir, { seed: 3, endMs: WINDOW.endMs });
    let checked = 0;
    for (const file of (await findLogFiles([dir])).files) {
      const text = gunzipSync(readFileSync(file.path)).toString("utf8");
      for (const line of text.split("\n")) if (line) checked += check(stripExportPrefix(line));
    }
    expect(checked).toBeGreaterThan(1500);
  });
});

describe("the query on hostile records (issue 8): agrees with the reader wherever the contract requires", () => {
  const agree = (line: string) => {
    const record = queryAgreesWithReader(line);
    if (!record) throw new Error(`not a record: ${line.slice(0, 80)}`);
    return record;
  };
  const streamed = (own: string) =>
    `"output":{"outputContentType":"application/json","outputBodyJson":[{"chunk":{"bytes":"x"}},` +
    `{"amazon-bedrock-invocationMetrics":{"inputTokenCount":9001,"outputTokenCount":9002,"invocationLatency":5}}],"outputTokenCount":${own}}`;

  it("a 16-digit look-alike in a tool schema captures nothing and hides nothing", () => {
    const bodyText =
      '{"tools":[{"toolSpec":{"inputSchema":{"json":{"a":1,"inputTokenCount":9007199254740993,"cacheReadInputTokenCount":9007199254740993}}}}]}';
    const line = rawRecord({ bodyText, promptTokens: 9500, completionTokens: 12, cacheWrite: 3 });
    expect(agree(line)).toMatchObject({ promptTokens: 9500, cacheReadTokens: null, cacheWriteTokens: 3 });
    for (const v of Object.values(parseFields(line)))
      if (v && /^\d+$/.test(v)) expect(v.length).toBeLessThanOrEqual(15);
  });

  it("a 600-level tool schema changes nothing", () => {
    const bodyText = `{"tools":[${'{"a":['.repeat(600)}1${"]}".repeat(600)}]}`;
    expect(agree(rawRecord({ bodyText, promptTokens: 9500, completionTokens: 1 })).requestSize).toBe(
      bodyText.length,
    );
  });

  it("a failed call with an inline body and no inputTokenCount gets its request size, in both key orders", () => {
    const bodyText = JSON.stringify({
      messages: [{ role: "user", content: "x".repeat(9000) }],
      tools: [{ o: {}, output: {} }],
    });
    const newer = rawRecord({ bodyText }).replace(
      ',"identity"',
      ',"errorCode":"ValidationException","identity"',
    );
    const newerNoError = rawRecord({ bodyText });
    const older =
      '{"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":"2026-11-19T12:00:00Z","accountId":"1",' +
      `"identity":{"arn":"arn:aws:iam::1:user/a"},"modelId":"m","input":{"inputContentType":"application/json","inputBodyJson":${bodyText}}}`;
    const olderError = older.replace(/}$/, ',"errorCode":"ValidationException"}');
    const withOutput = rawRecord({ bodyText, completionTokens: 5 });
    for (const line of [newer, newerNoError, older, olderError, withOutput]) {
      expect(agree(line).requestSize).toBe(bodyText.length);
    }
  });

  it('a failed call with an empty output object (`"output":{}`) gets its request size, not 12 characters more', () => {
    const bodyText = JSON.stringify({
      messages: [{ role: "user", content: "x".repeat(9000) }],
      tools: [{ o: {}, output: {} }],
    });
    const emptyOutput = (identity: boolean, error: boolean) =>
      rawRecord({ bodyText }).replace(
        ',"identity"',
        `,"output":{}${error ? ',"errorCode":"ThrottlingException"' : ""}${identity ? ',"identity"' : ""}`,
      );
    const older =
      '{"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":"2026-11-19T12:00:00Z","accountId":"1",' +
      `"identity":{"arn":"arn:aws:iam::1:user/a"},"modelId":"m","input":{"inputContentType":"application/json","inputBodyJson":${bodyText}},"output":{}}`;
    for (const line of [emptyOutput(true, false), emptyOutput(true, true), older]) {
      expect(readRecord(line)).toMatchObject({ ok: true });
      expect(agree(line).requestSize).toBe(bodyText.length);
    }
  });

  it("a record's own count that is not an integer literal is missing, never taken from a streamed look-alike", () => {
    for (const own of ['"9500"', "9500.0", "9.5e3", "-1", "1234567890123456"]) {
      const line = rawRecord({ body: { p: "hi" }, promptTokens: 1, completionTokens: 1 })
        .replace('"inputTokenCount":1', `"inputTokenCount":${own}`)
        .replace(/"output":\{[^}]*\}/, streamed(own));
      expect(agree(line), own).toMatchObject({ promptTokens: null, completionTokens: null });
      const s3 = rawRecord({ promptTokens: 1, completionTokens: 1 })
        .replace('"inputTokenCount":1', `"inputBodyS3Path":"s3://b/k","inputTokenCount":${own}`)
        .replace(/"output":\{[^}]*\}/, streamed(own));
      expect(agree(s3), own).toMatchObject({ promptTokens: null, completionTokens: null, requestSize: null });
    }
  });

  it("raw line-separator characters in a prompt (U+2028, U+0085, CR) do not switch the patterns off", () => {
    for (const c of ["\u2028", "\u2029", "\u0085", "\r"]) {
      const line = rawRecord({
        bodyText: `{"p":"a${c}b${"x".repeat(9000)}"}`,
        promptTokens: 9500,
        completionTokens: 9001,
      });
      expect(agree(line), JSON.stringify(c)).toMatchObject({
        promptTokens: 9500,
        completionTokens: 9001,
        requestSize: 9011,
      });
    }
  });

  it("counts without a body: offloaded, not delivered, with cache counts", () => {
    const s3 = rawRecord({ promptTokens: 9001, completionTokens: 2, cacheWrite: 28_857 }).replace(
      '"inputTokenCount"',
      '"inputBodyS3Path":"s3://b/AWSLogs/1/k.json.gz","inputTokenCount"',
    );
    expect(agree(s3)).toMatchObject({ promptTokens: 9001, cacheWriteTokens: 28_857, requestSize: null });
  });
});
