/**
 * The pure pieces of the export readers (issue 19): the JSON element splitter, the CSV row splitter, the marker
 * splitter and format detection, on generated input cut into chunks at random places.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type CsvRow, CsvRowSplitter, splitCsvRow } from "../../cli/csv-rows.js";
import { detectFormat } from "../../cli/input-format.js";
import { JsonElementSplitter, type SplitEvent } from "../../cli/json-elements.js";
import { type MarkedPiece, MarkerSplitter } from "../../cli/marker-split.js";
import { firehoseText, insightsCsv, insightsJson, logEvents, queryResults } from "../helpers/exports.js";
import { rawRecord } from "../helpers/records.js";

/** `bytes` cut at the given places (each taken modulo the length), as fresh buffers. */
function chunks(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, bytes.length]) {
    if (c > from) out.push(Buffer.from(bytes.subarray(from, c)));
    from = Math.max(from, c);
  }
  return out;
}

const cutsArb = fc.array(fc.nat(), { maxLength: 12 });

function split(key: string | null, text: string, cuts: number[], max = 1 << 20): SplitEvent[] {
  const s = new JsonElementSplitter(key, max);
  const out: SplitEvent[] = [];
  for (const c of chunks(Buffer.from(text), cuts)) s.push(c, out);
  s.end(out);
  return out;
}
const elementsOf = (events: SplitEvent[]) =>
  events.map((e) => (e.kind === "element" && e.text !== null ? JSON.parse(e.text) : e.kind));

describe("JsonElementSplitter", () => {
  it("the elements of a top-level array, however the text is cut and indented", () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue(), { maxLength: 8 }),
        fc.constantFrom(0, 2, 4),
        cutsArb,
        (arr, indent, cuts) => {
          const text = JSON.stringify(arr, null, indent);
          expect(elementsOf(split(null, text, cuts))).toEqual(JSON.parse(text));
        },
      ),
    );
  });

  it("the elements under one top-level key, in any key order, over concatenated pages; nothing else", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.jsonValue(), { maxLength: 4 }), { minLength: 1, maxLength: 3 }),
        fc.jsonValue(),
        fc.boolean(),
        cutsArb,
        (pages, other, resultsFirst, cuts) => {
          const text = pages
            .map((results) =>
              JSON.stringify(
                resultsFirst
                  ? { results, statistics: other, status: "Complete" }
                  : { statistics: other, results },
                null,
                4,
              ),
            )
            .join("\n");
          const parsed = pages.map((p) => JSON.parse(JSON.stringify(p)) as unknown[]);
          expect(elementsOf(split("results", text, cuts))).toEqual(parsed.flat());
        },
      ),
    );
  });

  it("line numbers, a cut-off last element, text outside the document, and the cap", () => {
    const text = '[\n  {"a": 1},\n  {"b": "x\\"]"},\n  {"c": ';
    expect(split(null, text, [5, 17])).toEqual([
      { kind: "element", text: '{"a": 1}', line: 2 },
      { kind: "element", text: '{"b": "x\\"]"}', line: 3 },
      { kind: "cut", line: 4 },
    ]);
    expect(split("events", '{"events": [1]}\njunk\n{"events": [2]}', []).map((e) => e.kind)).toEqual([
      "element",
      "stray",
      "element",
    ]);
    const big = split(null, `[${JSON.stringify("x".repeat(100))}, 2]`, [7, 50], 64);
    expect(big).toEqual([
      { kind: "element", text: null, line: 1 },
      { kind: "element", text: "2", line: 1 },
    ]);
  });
});

describe("CSV", () => {
  const field = fc.string({ unit: fc.constantFrom("a", ",", '"', "\n", "\r\n", " ", "é", "🚀", "{", "x") });
  const encode = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

  it("rows and fields survive quoting, line breaks inside fields, CRLF and any cut", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(field, { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        cutsArb,
        (rows, crlf, cuts) => {
          const eol = crlf ? "\r\n" : "\n";
          const text = rows.map((r) => r.map(encode).join(",")).join(eol) + eol;
          const s = new CsvRowSplitter(1 << 20);
          const out: CsvRow[] = [];
          for (const c of chunks(Buffer.from(text), cuts)) s.push(c, out);
          s.end(out);
          expect(out.map((r) => splitCsvRow(r.text ?? ""))).toEqual(rows);
        },
      ),
    );
  });

  it("row line numbers; a row over the cap ends at the next line break, even inside quotes", () => {
    const s = new CsvRowSplitter(16);
    const out: CsvRow[] = [];
    s.push(Buffer.from(`h1,h2\n"a\nb",c\n"unbalanced,${"z".repeat(40)}\nnext,row\n`), out);
    s.end(out);
    expect(out).toEqual([
      { text: "h1,h2", line: 1 },
      { text: '"a\nb",c', line: 2 },
      { text: null, line: 4 },
      { text: "next,row", line: 5 },
    ]);
  });
});

describe("MarkerSplitter", () => {
  const marker = Buffer.from('{"messageType":');
  const pieceArb = fc.string({ unit: fc.constantFrom("a", "{", '"', "m", ":", "\n", "é") });

  it("splits before every marker, however the bytes are cut, a marker across two chunks included", () => {
    fc.assert(
      fc.property(fc.array(pieceArb, { minLength: 1, maxLength: 6 }), cutsArb, (bodies, cuts) => {
        const pieces = bodies.map((b) => `${marker}${b.replaceAll('{"messageType":', "")}`);
        const s = new MarkerSplitter(marker, 1 << 20);
        const out: MarkedPiece[] = [];
        for (const c of chunks(Buffer.from(pieces.join("")), cuts)) s.push(c, out);
        s.finish(out);
        expect(out.map((p) => p.text)).toEqual(pieces);
      }),
    );
  });

  it("a piece over the cap is dropped as it comes and the pieces after it are whole", () => {
    const s = new MarkerSplitter(marker, 100);
    const out: MarkedPiece[] = [];
    const long = `${marker}${"x".repeat(500)}`;
    const text = Buffer.from(`${marker}1${long}${marker}3`);
    for (const c of chunks(text, [3, 40, 120, 300, 520, 530])) s.push(c, out);
    s.finish(out);
    expect(out.map((p) => p.text)).toEqual([`${marker}1`, null, `${marker}3`]);
  });
});

describe("detectFormat", () => {
  const record = rawRecord({ promptTokens: 1 });
  const messages = [record, record];
  const cases: [string, string, string][] = [
    ["JSON lines", `${record}\n`, "lines"],
    ["JSON lines with a BOM and blank lines first", `\uFEFF\n\n${record}\n`, "lines"],
    ["a pretty-printed record", JSON.stringify(JSON.parse(record), null, 2), "lines"],
    ["export lines", `2026-11-19T10:00:00.000Z ${record}\n`, "lines"],
    ["text", "hello, world\n", "lines"],
    ["Logs Insights JSON", insightsJson(messages, { bom: true }), "insights-json"],
    ["Logs Insights CSV", insightsCsv(messages, { bom: true, crlf: true }), "insights-csv"],
    ["get-query-results", queryResults(messages), "query-results"],
    ["filter-log-events", logEvents(messages), "log-events"],
    ["Firehose", firehoseText(messages), "firehose"],
    ["another JSON document", '{"foo": 1}', "probe"],
    ["a CSV without @message", "@timestamp,count\n", "unknown"],
  ];
  for (const [name, text, kind] of cases) {
    it(`${name}: ${kind}, and every shorter start says the same or asks for more`, () => {
      const bytes = Buffer.from(text);
      expect(detectFormat(bytes, true)?.kind).toBe(kind);
      for (let n = 0; n < Math.min(bytes.length, 80); n++) {
        const early = detectFormat(bytes.subarray(0, n), false);
        if (early !== null) expect({ n, kind: early.kind }).toEqual({ n, kind });
      }
    });
  }
});
