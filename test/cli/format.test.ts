import { describe, expect, it } from "vitest";
import { csvField, toCsvReport, toTableReport, wrapText } from "../../cli/format.js";
import type { ScanResult } from "../../cli/scan.js";
import { DEFAULT_RULE } from "../../config/rule-settings.js";
import { RuleEvaluator } from "../../core/record-evaluator.js";
import type { Window } from "../../core/rule.js";
import { rec } from "../helpers/records.js";

const WINDOW: Window = {
  startMs: Date.parse("2026-11-19T00:00:00Z"),
  endMs: Date.parse("2026-11-20T00:00:00Z"),
};

function result(identityArn: string, modelId: string): ScanResult {
  const e = new RuleEvaluator(DEFAULT_RULE, WINDOW);
  for (const [accountId, n] of [
    ["123456789012", 3],
    ["210987654321", 2],
  ] as const) {
    for (let i = 0; i < n; i++) e.add(rec({ accountId, promptTokens: 169_522 - i, identityArn, modelId }));
  }
  return {
    findings: e.findings(),
    history: { asked: e.historyWindow, foundFromMs: e.history().knownFromMs, records: 0 },
    stats: { filesRead: 1, ...e.stats, malformedLines: 0 },
    recordSpan: null,
    fileErrors: [],
  };
}

const ARN = "arn:aws:sts::123456789012:assumed-role/ci-runner/build-2";
const MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0";
const widest = (text: string) => Math.max(...text.split("\n").map((l) => l.length));

/** RFC 4180 read back the plain way, to check what a spreadsheet would see. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += c;
  }
  expect(field, "the text ends with CRLF").toBe("");
  return rows;
}

describe("table", () => {
  it("fits 100 columns by default: the columns that do not fit go to indented detail lines", () => {
    const table = toTableReport(result(ARN, MODEL), DEFAULT_RULE, WINDOW);
    expect(widest(table)).toBeLessThanOrEqual(100);
    expect(table).toMatch(/^ACCOUNT +REQUESTS +MAX PROMPT +MAX REQ SIZE +MAX COMPL +FIRST SEEN +LAST SEEN$/m);
    expect(table).toMatch(/^123456789012 +3 +169,522 +- +- +2026-11-19 12:00Z +2026-11-19 12:00Z$/m);
    expect(table).toContain(`\n    top model: ${MODEL}\n    top identity: ${ARN} (3)\n210987654321`);
  });

  it("fits a narrower terminal, down to the account and request count", () => {
    for (const width of [80, 60, 40]) {
      const table = toTableReport(result(ARN, MODEL), DEFAULT_RULE, WINDOW, { width });
      // Only a value longer than the line itself (an ARN, a model id) may overflow it.
      const lines = table.split("\n").filter((l) => !l.includes(ARN) && !l.includes(MODEL));
      expect(widest(lines.join("\n")), `width ${width}`).toBeLessThanOrEqual(width);
      expect(table).toMatch(/^123456789012 +3/m);
      expect(table).toContain("top identity: ");
    }
    const at80 = toTableReport(result(ARN, MODEL), DEFAULT_RULE, WINDOW, { width: 80 });
    expect(at80).toMatch(/^ACCOUNT .* FIRST SEEN$/m);
    expect(at80).toContain("    last seen: 2026-11-19 12:00Z");
  });

  it("--wide: every column on one line", () => {
    const table = toTableReport(result(ARN, MODEL), DEFAULT_RULE, WINDOW, { wide: true, width: 80 });
    expect(table).toMatch(/^ACCOUNT .* TOP MODEL +TOP IDENTITY \(REQUESTS\)$/m);
    expect(table).toMatch(new RegExp(`^123456789012 .* ${MODEL} +${ARN} \\(3\\)$`, "m"));
    expect(table).not.toContain("top model:");
  });
});

describe("wrapText", () => {
  it("breaks at word boundaries within the width and indents continuation lines", () => {
    expect(wrapText("aa bb cc dd", 5, "  ")).toBe("aa bb\n  cc dd");
    expect(wrapText("averyveryverylongword b", 5)).toBe("averyveryverylongword\nb");
    expect(wrapText("one", 80)).toBe("one");
  });
});

describe("csv", () => {
  it("one row per finding with a header, CRLF line ends, nulls empty", () => {
    const rows = parseCsv(toCsvReport(result(ARN, MODEL), WINDOW));
    expect(rows[0]?.slice(0, 5)).toEqual([
      "accountId",
      "requestCount",
      "maxPromptTokens",
      "maxRequestSize",
      "maxCompletionTokens",
    ]);
    expect(rows).toHaveLength(3);
    const header = rows[0] ?? [];
    const first = Object.fromEntries(header.map((h, i) => [h, rows[1]?.[i]]));
    expect(first).toMatchObject({
      accountId: "123456789012",
      requestCount: "3",
      maxPromptTokens: "169522",
      maxRequestSize: "",
      topIdentity: ARN,
      topModel: MODEL,
      windowStart: "2026-11-19T00:00:00.000Z",
    });
  });

  it("quotes commas, quotes and line breaks per RFC 4180, and reads back the same", () => {
    const odd = 'arn:aws:iam::123456789012:user/a,"b"\r\nc';
    const rows = parseCsv(toCsvReport(result(odd, "m,1"), WINDOW));
    const header = rows[0] ?? [];
    expect(rows[1]?.[header.indexOf("topIdentity")]).toBe(odd);
    expect(rows[1]?.[header.indexOf("topModel")]).toBe("m,1");
    expect(csvField('a"b')).toBe('"a""b"');
    expect(csvField("plain")).toBe("plain");
    expect(csvField(null)).toBe("");
    expect(csvField(42)).toBe("42");
  });

  it("text a spreadsheet would run as a formula is kept as text", () => {
    expect(csvField('=HYPERLINK("http://x")')).toBe('"\'=HYPERLINK(""http://x"")"');
    expect(csvField("+1")).toBe("'+1");
    expect(csvField("@SUM(A1)")).toBe("'@SUM(A1)");
  });
});
