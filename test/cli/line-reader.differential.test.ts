/**
 * Differential test of the WebAssembly fast path (cli/line-reader.ts, wasm/record-scan.ts): bytes fed in
 * blocks cut anywhere must give exactly the items of the reference path (each line decoded and handed to the
 * RecordAssembler and the reference reader), on hostile records, broken and pretty-printed text, CRLF, a BOM,
 * blank lines, invalid UTF-8 and lines longer than a block, each case with a module instance another case
 * used before. And the fast path must actually be taken.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BLOCK_BYTES, LineReader } from "../../cli/line-reader.js";
import { type FileItem, RecordAssembler } from "../../cli/record-assembler.js";
import { readRecord } from "../../core/record-reader.js";
import { adversarialRecord } from "../helpers/adversarial.js";
import { pretty } from "../helpers/records.js";
import { parseTolerant, referenceRead } from "../helpers/reference-reader.js";

/** The reference: lines split at LF, one CR before it dropped, decoded, a BOM dropped, then the assembler. */
function referenceItems(bytes: Buffer): FileItem[] {
  const a = new RecordAssembler();
  const out: FileItem[] = [];
  let start = 0;
  let n = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    let text = bytes.toString("utf8", start, end);
    if (text.endsWith("\r")) text = text.slice(0, -1);
    if (start === 0) text = text.replace(/^\uFEFF/, "");
    out.push(...a.push(text, ++n));
    start = end + 1;
  }
  out.push(...a.end());
  return out;
}

/** The fast path, the bytes committed in pieces of the given sizes (then in whole blocks). */
function fastItems(bytes: Buffer, pieces: readonly number[] = []): { items: FileItem[]; fast: number } {
  const r = new LineReader({ base: 0, skipFirstLine: false, stopAt: Number.POSITIVE_INFINITY });
  let at = 0;
  let k = 0;
  while (at < bytes.length) {
    const space = r.space();
    const n = Math.min(pieces[k++] ?? space.length, space.length, bytes.length - at);
    bytes.copy(space, 0, at, at + n);
    at += n;
    r.commit(n);
  }
  r.finish();
  // Back to the pool: the next case reads with this instance, over the bytes this one left in its memory.
  r.close();
  return { items: r.items, fast: r.fastLines };
}

const records = adversarialRecord({ rawNewlines: false, maxDepth: 400 });

describe("the WebAssembly line reader against the reference path", () => {
  it("hostile one-line records, blocks cut anywhere: the same items, and the fast path reads the valid ones", () => {
    let valid = 0;
    let fast = 0;
    fc.assert(
      fc.property(
        fc.array(records, { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 4000 }), { maxLength: 40 }),
        fc.constantFrom("\n", "\r\n"),
        (recs, pieces, eol) => {
          const bytes = Buffer.from(recs.map((g) => g.text).join(eol) + eol);
          const got = fastItems(bytes, pieces);
          expect(got.items).toEqual(referenceItems(bytes));
          valid += recs.filter((g) => referenceRead(g.text) !== null).length;
          fast += got.fast;
        },
      ),
      { numRuns: 300 },
    );
    // Escaped keys and the like are the reference's; the common case must not be.
    expect(fast).toBeGreaterThan(valid * 0.8);
  });

  it("pretty-printed, cut and export-prefixed records between one-line ones, with a BOM and blank lines", () => {
    // Valid JSON (pretty-printing needs it), and shallower: a deep record pretty-printed is quadratic in size.
    const shallow = adversarialRecord({ rawNewlines: false, maxDepth: 40 }).filter(
      (g) => parseTolerant(g.text) !== null,
    );
    const framed = shallow.chain((g) =>
      fc.constantFrom(
        [g.text],
        [`2026-11-19T12:00:00.000Z ${g.text}`],
        pretty(g.text, 2).split("\n"),
        pretty(g.text, 0).split("\n"),
        [g.text.slice(0, Math.floor(g.text.length / 2))],
        ["", "   "],
      ),
    );
    fc.assert(
      fc.property(
        fc.array(framed, { minLength: 1, maxLength: 10 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 3000 }), { maxLength: 30 }),
        (segments, bom, pieces) => {
          const text = (bom ? "\uFEFF" : "") + segments.flat().join("\n");
          const bytes = Buffer.from(text);
          expect(fastItems(bytes, pieces).items).toEqual(referenceItems(bytes));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("text that is not UTF-8 is read as the reference decodes it (replacement characters counted)", () => {
    const line = records.filter((g) => readRecord(g.text).ok);
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 6 }), fc.nat(), (recs, seed) => {
        const bytes = Buffer.from(recs.map((g) => g.text).join("\n"));
        // A lone continuation byte or a cut sequence somewhere inside a string of one record.
        const quote = bytes.indexOf(0x22, seed % bytes.length);
        if (quote < 0) return;
        const broken = Buffer.concat([
          bytes.subarray(0, quote + 1),
          Buffer.from([0xe6, 0x80]),
          bytes.subarray(quote + 1),
        ]);
        expect(fastItems(broken).items).toEqual(referenceItems(broken));
      }),
      { numRuns: 100 },
    );
  });

  it("only lines that are not UTF-8 leave the fast path: characters past ASCII anywhere in a block stay in it", () => {
    const [one] = fc.sample(
      records.filter((g) => readRecord(g.text).ok),
      { numRuns: 1, seed: 11 },
    );
    const base = JSON.parse((one as { text: string }).text) as Record<string, unknown>;
    const line = (extra: Record<string, unknown>) => Buffer.from(JSON.stringify({ ...base, ...extra }));
    /** A line with the bytes `bad` where `#BAD#` was written. */
    const broken = (extra: Record<string, unknown>, bad: number[]) => {
      const text = line(extra);
      const at = text.indexOf("#BAD#");
      return Buffer.concat([text.subarray(0, at), Buffer.from(bad), text.subarray(at + 5)]);
    };
    const valid: Buffer[] = [line({})];
    const invalid: Buffer[] = [];
    // Offsets 0 to 17 put the character in each lane of a 16-byte block, and in a string's last few bytes.
    for (let k = 0; k < 18; k++) {
      valid.push(line({ note: `${"a".repeat(k)}\u00e9\u20ac\u{1f600}${"b".repeat(k % 5)}` }));
      invalid.push(broken({ note: `${"a".repeat(k)}#BAD#${"b".repeat(k % 5)}` }, [0xff]));
    }
    valid.push(line({ "cl\u00e9": "v" }), line({ modelId: "mod\u00e8le" }));
    invalid.push(broken({ "k#BAD#": 1 }, [0xc3, 0x28]), broken({ accountId: "1#BAD#" }, [0xe6, 0x80]));
    const lines: Buffer[] = [];
    for (let i = 0; i < Math.max(valid.length, invalid.length); i++) {
      if (valid[i]) lines.push(valid[i] as Buffer);
      if (invalid[i]) lines.push(invalid[i] as Buffer);
    }
    // The last line not UTF-8 (an encoded surrogate) and without an LF: it ends where the input does.
    lines.push(broken({ requestId: "#BAD#" }, [0xed, 0xa0, 0x80]));
    const bytes = Buffer.concat(lines.flatMap((l) => [l, Buffer.from("\n")]).slice(0, -1));
    for (const pieces of [[], [7, 300, 4096], [65_536, 1]]) {
      const got = fastItems(bytes, pieces);
      expect(got.items).toEqual(referenceItems(bytes));
      expect(got.fast).toBe(valid.length);
    }
  });

  it("a line longer than a block is carried over whole, and the block after it is read on", () => {
    const [one] = fc.sample(
      records.filter((g) => readRecord(g.text).ok),
      { numRuns: 1, seed: 7 },
    );
    const g = one as { text: string };
    const long = JSON.stringify({
      ...JSON.parse(g.text),
      input: { inputBodyJson: { text: "x".repeat(2.5 * BLOCK_BYTES) }, inputTokenCount: 9001 },
    });
    const bytes = Buffer.from([g.text, long, g.text, long].join("\n"));
    const got = fastItems(bytes);
    expect(got.items).toEqual(referenceItems(bytes));
    expect(got.items.filter((i) => i.kind === "record")).toHaveLength(4);
    expect(got.fast).toBe(4);
  });
});

describe("the WebAssembly line reader on the edges of JSON", () => {
  const line = (body: string, extra = "") =>
    `{"timestamp":"2026-11-19T10:00:00Z","accountId":"111122223333","requestId":"r-1"${extra},` +
    `"identity":{"arn":"arn:aws:iam::111122223333:user/a"},"input":{"inputBodyJson":${body},"inputTokenCount":9001}}`;
  const str = (raw: string) => `{"text":"${raw}"}`;
  const cases: [string, string][] = [
    ...[
      "\\u12G4",
      "\\uZ123",
      "\\u12",
      "\\u",
      "\\q",
      "\\'",
      "\\x41",
      "\\",
      "\\\\\\q",
      "\\uD83D\\uDE80",
      "\\\\u12G4",
      "\u0001\t\u001f",
    ].map((raw): [string, string] => [`string ${JSON.stringify(raw)}`, line(str(raw))]),
    ...[
      "-",
      "-0",
      "01",
      "1.",
      "1.e5",
      "1e",
      "1e+",
      ".5",
      "1.5e-3",
      "9e3",
      "1E+2",
      "1234567890123456",
      "-1",
    ].map((n): [string, string] => [`number ${n}`, line(`[${n}]`)]),
    ...[
      "tru",
      "nul",
      "truex",
      "falsey",
      "true",
      "false",
      "null",
      "[]",
      "{}",
      "[[]]",
      "[{}]",
      '{"a":[]}',
      "[,]",
      "[1,]",
      '{"a":1,}',
    ].map((v): [string, string] => [`value ${v}`, line(`{"v":${v}}`)]),
    ["a raw LF inside a string: the line is cut there", line(str("a\nb"))],
    ["a raw CR inside a string", line(str("a\rb"))],
    ["whitespace everywhere", line(' { "a" :\t[ 1 ,\r 2 ] , "b" : { } } ')],
    ["garbage after the record", `${line("{}")}x`],
    ["a second closing brace", `${line("{}")}}`],
    ["counts that are not counts", line("{}").replace("9001", "9001.0")],
    ["a count of 15 digits", line("{}").replace("9001", "999999999999999")],
    ["a count of 16 digits", line("{}").replace("9001", "1000000000000000")],
    ["a look-alike count inside the body", line('{"inputTokenCount":99999,"input":{"inputTokenCount":1}}')],
    ["a null body", line("null")],
    ["a string body", line('"just text"')],
    ["an escaped key", line("{}").replace('"inputTokenCount"', '"input\\u0054okenCount"')],
    ["an empty requestId", line("{}").replace('"r-1"', '""')],
    ["identity that is not an object", line("{}", ',"identity":null')],
    ["input twice (the last wins)", `${line("{}").slice(0, -1)},"input":{"inputTokenCount":7}}`],
    ["astral and CJK text", line(str("🚀 東京 café naïve"))],
    ["nesting deeper than the module's stack", line(`${"[".repeat(70_000)}${"]".repeat(70_000)}`)],
    ["a timestamp with an offset", line("{}").replace("10:00:00Z", "10:00:00.123456+02:00")],
    ["a timestamp without a zone", line("{}").replace("10:00:00Z", "10:00:00")],
  ];
  it.each(cases)("%s: as the reference reads it", (_, text) => {
    for (const eol of ["", "\n", "\r\n"]) {
      const bytes = Buffer.from(text + eol);
      expect(fastItems(bytes).items).toEqual(referenceItems(bytes));
    }
  });

  it("valid records are read by the fast path, also with whitespace and raw control characters", () => {
    const valid = cases.filter(([name]) =>
      /whitespace|astral|look-alike|15 digits|null body|\\u0001/.test(name),
    );
    for (const [, text] of valid) expect(fastItems(Buffer.from(text)).fast).toBe(1);
  });
});
