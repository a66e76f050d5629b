import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type InvocationRecord, readRecord, stripExportPrefix } from "../../core/record-reader.js";
import { ELASTIC_EXPECTED, ELASTIC_LOG, rawRecord, SAMPLES } from "../helpers/records.js";

function read(text: string): InvocationRecord {
  const r = readRecord(text);
  if (!r.ok) throw new Error(`expected a record, got: ${r.reason}`);
  return r.record;
}

describe("readRecord on Elastic's real records", () => {
  const lines = readFileSync(ELASTIC_LOG, "utf8").split("\n").filter(Boolean);
  const expected = JSON.parse(readFileSync(ELASTIC_EXPECTED, "utf8")) as {
    line: number;
    accountId: string;
    operation: string;
    modelId: string;
    "input.inputTokenCount": number;
    "output.outputTokenCount": number;
    source_timestamp: string;
    /** Elastic's stored output; null for records added to the log after it. */
    expected: { "user.id"?: string } | null;
  }[];
  // detection-rule.md, "Our request size on Elastic's fixtures".
  const requestSizes: Record<number, number> = {
    1: 1896, 2: 143, 3: 302, 4: 246, 5: 211, 6: 269, 7: 269, 8: 269, 9: 510, 10: 3433,
    11: 500, 12: 3461, 13: 1112, 14: 269, 15: 269, 16: 269, 17: 269, 18: 177, 19: 349,
  }; // biome-ignore format: a table

  it("has the 19 lines the contract lists", () => {
    expect(lines).toHaveLength(19);
    expect(expected).toHaveLength(19);
  });

  it.each(expected.map((e) => [e.line, e] as const))(
    "line %i: tokens, account, identity as Elastic extracts them",
    (line, e) => {
      const r = read(lines[line - 1] ?? "");
      expect(r.promptTokens).toBe(e["input.inputTokenCount"]);
      expect(r.completionTokens).toBe(e["output.outputTokenCount"]);
      expect(r.accountId).toBe(e.accountId);
      expect(r.operation).toBe(e.operation);
      expect(r.modelId).toBe(e.modelId);
      if (e.expected) expect(r.identityArn).toBe(e.expected["user.id"] ?? null);
      expect(r.timestamp).toBe(e.source_timestamp);
    },
  );

  it.each(Object.entries(requestSizes))("line %s: request size per the contract", (line, size) => {
    expect(read(lines[Number(line) - 1] ?? "").requestSize).toBe(size);
  });
});

describe("readRecord field extraction", () => {
  it("reads tokens, cache tokens, identity and model from a compact record", () => {
    const r = read(
      rawRecord({ promptTokens: 9000, completionTokens: 12, cacheWrite: 28857, body: { a: 1 } }),
    );
    expect(r).toMatchObject({
      accountId: "111111111111",
      promptTokens: 9000,
      completionTokens: 12,
      cacheWriteTokens: 28857,
      cacheReadTokens: null,
      requestSize: '{"a":1}'.length,
      identityArn: "arn:aws:iam::111111111111:user/alice",
    });
  });

  it("reads the requestId; a missing, empty or non-string one is null", () => {
    expect(read(rawRecord({ requestId: "6f9e9644-95a1" })).requestId).toBe("6f9e9644-95a1");
    expect(read(rawRecord({ requestId: null })).requestId).toBeNull();
    expect(read(rawRecord({ requestId: "" })).requestId).toBeNull();
    expect(
      read(rawRecord({ requestId: null }).replace('"region"', '"requestId":7,"region"')).requestId,
    ).toBeNull();
  });

  it("is not fooled by a prompt that contains the token-count key", () => {
    const body = {
      messages: [{ role: "user", content: '"inputTokenCount":99999, "outputTokenCount":99999' }],
    };
    const r = read(rawRecord({ body, promptTokens: 12, completionTokens: 3 }));
    expect(r.promptTokens).toBe(12);
    expect(r.completionTokens).toBe(3);
  });

  it("is not fooled by a caller-supplied body object that uses the record's own keys", () => {
    const body = {
      inputTokenCount: 1,
      input: { inputTokenCount: 1 },
      accountId: "999999999999",
      timestamp: "x",
    };
    const r = read(rawRecord({ body, promptTokens: 50_000 }));
    expect(r.promptTokens).toBe(50_000);
    expect(r.accountId).toBe("111111111111");
    expect(r.timestamp).toBe("2026-11-19T12:00:00Z");
  });

  it("counts request size in code points as written: escapes as written, whitespace outside strings removed", () => {
    // `\"` is 2 code points, `\u2019` is 6, an emoji (surrogate pair) is 1, spaces inside strings count.
    const bodyText = '{ "t" : "a \\" b \\u2019 \u{1F680} c" ,\n\t"n" : [ 1 , 2.5 ] }';
    const compact = '{"t":"a \\" b \\u2019 \u{1F680} c","n":[1,2.5]}';
    expect(read(rawRecord({ bodyText })).requestSize).toBe([...compact].length);
    expect([...compact].length).toBe(compact.length - 1);
  });

  it("treats only non-negative integer JSON numbers as counts", () => {
    for (const bad of ["9000", -9000, 12.5, null, true, { n: 9000 }]) {
      const r = read(rawRecord({ promptTokens: bad, completionTokens: bad }));
      expect(r.promptTokens, JSON.stringify(bad)).toBeNull();
      expect(r.completionTokens, JSON.stringify(bad)).toBeNull();
    }
    expect(read(rawRecord({ promptTokens: 0 })).promptTokens).toBe(0);
    // Written as integers only, like the Insights query's patterns: 9000.0 and 9e3 are not counts.
    for (const literal of ["9000.0", "9e3", "9E3"]) {
      const text = rawRecord({ promptTokens: 1 }).replace(
        '"inputTokenCount":1',
        `"inputTokenCount":${literal}`,
      );
      expect(read(text).promptTokens, literal).toBeNull();
    }
  });

  it("has no request size when the body is absent, offloaded to S3 or null", () => {
    expect(read(rawRecord({ promptTokens: 5 })).requestSize).toBeNull();
    expect(read(rawRecord({ bodyText: "null" })).requestSize).toBeNull();
    const disabled = readFileSync(`${SAMPLES}05_zenn_text_delivery_disabled_converse_record.txt`, "utf8");
    expect(read(disabled)).toMatchObject({ promptTokens: 1, completionTokens: 8, requestSize: null });
  });

  it("reads pretty-printed sample records and streaming-array outputs", () => {
    const nova = read(readFileSync(`${SAMPLES}03_dheerajoruganty_conversestream_nova_lite.json`, "utf8"));
    expect(nova.operation).toBe("ConverseStream");
    expect(nova.promptTokens).toEqual(expect.any(Number));
    expect(nova.cacheReadTokens ?? nova.cacheWriteTokens).not.toBeNull();
    const aws = read(readFileSync(`${SAMPLES}01_aws_docs_log_entry_format.json`, "utf8"));
    expect(aws.identityArn).toBe("arn:aws:sts::123456789012:assumed-role/MyRole/session-name");
  });

  it("rejects records without a usable timestamp or account", () => {
    const titan = readRecord(
      readFileSync(`${SAMPLES}06_jp_repo_titan_invokemodelwithresponsestream.json`, "utf8"),
    );
    expect(titan).toMatchObject({ ok: false, reason: expect.stringContaining("not ISO-8601") });
    expect(readRecord(rawRecord({ accountId: "" }))).toMatchObject({
      ok: false,
      reason: "record has no accountId",
    });
    expect(readRecord('{"accountId":"1"}')).toMatchObject({ ok: false, reason: "record has no timestamp" });
  });

  it("reports malformed JSON without throwing, and flags text that ends inside a record", () => {
    const full = rawRecord({ promptTokens: 1 });
    expect(readRecord("not json")).toMatchObject({ ok: false, reason: "not a JSON object" });
    expect(readRecord("[1,2]")).toMatchObject({ ok: false, reason: "not a JSON object" });
    expect(readRecord(`${full} trailing`)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("after the record"),
    });
    expect(readRecord(full.slice(0, 120))).toMatchObject({ ok: false, incomplete: true });
    expect(readRecord('{"timestamp":"2026-11-19T12:00:00Z","accountId":"1","x":tru}')).toMatchObject({
      ok: false,
    });
    expect(readRecord(`{"a":${"[".repeat(100_000)}`)).toMatchObject({ ok: false, incomplete: true });
  });
});

describe("readRecord on hostile records (issue 8)", () => {
  it("a tool schema nested 600 (or 100,000) levels deep is skipped, not a malformed record", () => {
    for (const depth of [600, 100_000]) {
      const bodyText = `{"tools":[${'{"a":['.repeat(depth)}1${"]}".repeat(depth)}],"p":"x"}`;
      const r = read(rawRecord({ bodyText, promptTokens: 9500, completionTokens: 3 }));
      expect(r.promptTokens).toBe(9500);
      expect(r.requestSize).toBe(bodyText.length);
    }
  });

  it("counts are integer literals of at most 15 digits; anything else is missing, never malformed", () => {
    const withCount = (literal: string) =>
      rawRecord({ promptTokens: 1, completionTokens: 1 })
        .replace('"inputTokenCount":1', `"inputTokenCount":${literal}`)
        .replace('"outputTokenCount":1', `"outputTokenCount":${literal}`);
    expect(read(withCount("999999999999999")).promptTokens).toBe(999_999_999_999_999);
    for (const missing of ["1000000000000000", "9007199254740993", "-1", "-0", "9e3", "9000.0", '"9500"']) {
      const r = read(withCount(missing));
      expect(r.promptTokens, missing).toBeNull();
      expect(r.completionTokens, missing).toBeNull();
    }
    for (const invalid of ["09000", "+1", "NaN", "0x10", "1."]) {
      expect(readRecord(withCount(invalid)).ok, invalid).toBe(false);
    }
  });

  it("a look-alike count in a tool schema with 16 digits changes nothing", () => {
    const bodyText =
      '{"tools":[{"inputSchema":{"inputTokenCount":9007199254740993,"cacheReadInputTokenCount":9007199254740993}}]}';
    expect(read(rawRecord({ bodyText, promptTokens: 9500 })).promptTokens).toBe(9500);
  });

  it("duplicate keys: the last occurrence wins, whole objects included", () => {
    const base = rawRecord({ promptTokens: 9000, completionTokens: 9000 });
    const dupInput = base.replace(',"output"', ',"input":{"inputTokenCount":5},"output"');
    expect(read(dupInput)).toMatchObject({ promptTokens: 5, requestSize: null });
    const nullInput = base.replace(',"output"', ',"input":null,"output"');
    expect(read(nullInput).promptTokens).toBeNull();
    const dupCount = base.replace('"inputTokenCount":9000', '"inputTokenCount":9000,"inputTokenCount":"x"');
    expect(read(dupCount).promptTokens).toBeNull();
    const dupAccount = base.replace('"accountId":"111111111111"', '"accountId":"1","accountId":"2"');
    expect(read(dupAccount).accountId).toBe("2");
    expect(readRecord(base.replace('"accountId":"111111111111"', '"accountId":"1","accountId":7')).ok).toBe(
      false,
    );
  });

  it("escaped key names are the keys they spell, as JSON.parse reads them", () => {
    const text = rawRecord({ promptTokens: 9000 }).replace('"inputTokenCount"', '"input\\u0054okenCount"');
    expect(read(text).promptTokens).toBe(9000);
  });

  it("an invalid escape anywhere makes the record malformed", () => {
    for (const bodyText of ['{"p":"a\\qb"}', '{"p":"\\u12G4"}', '{"p\\x":1}']) {
      expect(readRecord(rawRecord({ bodyText, promptTokens: 9000 })), bodyText).toMatchObject({ ok: false });
    }
    expect(read(rawRecord({ bodyText: '{"p":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9"}' })).requestSize).toBe(30);
  });

  it("raw control characters inside strings are accepted as written", () => {
    const r = read(rawRecord({ bodyText: '{"p":"a\tb\u0001"}'.replace("\\t", "\t"), promptTokens: 1 }));
    expect(r.promptTokens).toBe(1);
  });

  it("timestamps: any fraction length and offsets, malformed without seconds", () => {
    expect(read(rawRecord({ timestamp: "2026-11-19T23:59:59.99999999999Z" })).timestampMs).toBe(
      Date.UTC(2026, 10, 19, 23, 59, 59, 999),
    );
    expect(read(rawRecord({ timestamp: "2026-11-20T01:00:00+01:00" })).timestampMs).toBe(
      Date.UTC(2026, 10, 20),
    );
    expect(readRecord(rawRecord({ timestamp: "2026-11-19T12:00Z" })).ok).toBe(false);
  });

  it("stays linear on hostile text: a million backslashes, quotes and brackets", () => {
    const n = 1_000_000;
    expect(readRecord(`{"a":"${"\\\\".repeat(n)}`)).toMatchObject({ ok: false, incomplete: true });
    expect(readRecord(`{"a":[${'"x",'.repeat(n)}`)).toMatchObject({ ok: false, incomplete: true });
    const manyStrings = `{"timestamp":"2026-11-19T12:00:00Z","accountId":"1","x":[${'"a",'.repeat(n)}"\\n"]}`;
    expect(read(manyStrings).accountId).toBe("1");
  });
});

describe("stripExportPrefix", () => {
  it("strips the CloudWatch export timestamp and leaves other lines alone", () => {
    expect(stripExportPrefix('2026-11-20T10:00:00.000Z {"a":1}')).toBe('{"a":1}');
    expect(stripExportPrefix('{"a":1}')).toBe('{"a":1}');
    expect(stripExportPrefix("2026-11-20 is a date")).toBe("2026-11-20 is a date");
  });
});
