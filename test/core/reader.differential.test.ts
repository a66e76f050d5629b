/**
 * Differential test: the scanner's reader, the file framing and the Insights regexes against a plain reference
 * of the contract (JSON.parse plus "Reading records"), on generated hostile records.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type FileItem, RecordAssembler } from "../../cli/record-assembler.js";
import { UNRECOGNISED_IDENTITY } from "../../core/insights-rows.js";
import { type InvocationRecord, readRecord, readRecordSlow } from "../../core/record-reader.js";
import { adversarialRecord, type GeneratedRecord } from "../helpers/adversarial.js";
import { simulate } from "../helpers/insights-sim.js";
import { pretty } from "../helpers/records.js";
import { referenceRead } from "../helpers/reference-reader.js";

const PRINCIPAL = /^arn:aws:(iam|sts)::\d+:/;

describe("differential: the reader against the contract's reference", () => {
  // The fast path (quote jumps) and the exact walk it falls back to must each agree with the reference, and
  // with each other to the letter (same reason, same `incomplete`).
  it.each([
    ["fast path", readRecord],
    ["exact walk", readRecordSlow],
  ])(
    "every field of every record, valid or not (deep nesting, escapes, counts at the edges, duplicates): %s",
    (_, read) => {
      fc.assert(
        fc.property(adversarialRecord({ rawNewlines: true, maxDepth: 3000 }), (g) => {
          const expected = referenceRead(g.text);
          const r = read(g.text);
          if (expected === null) expect(r.ok).toBe(false);
          else expect(r.ok ? r.record : r.reason).toEqual(expected);
          expect(r).toEqual(read === readRecord ? readRecordSlow(g.text) : readRecord(g.text));
        }),
        { numRuns: 400 },
      );
    },
  );

  it("the Insights regexes agree wherever the contract requires it, and imitations never lower a value", () => {
    let compared = 0;
    fc.assert(
      fc.property(adversarialRecord({ rawNewlines: false, maxDepth: 600 }), (g: GeneratedRecord) => {
        const e = referenceRead(g.text);
        if (e === null || !g.bedrockShaped) return;
        compared++;
        const sim = simulate(g.text);
        const shown =
          e.identityArn !== null && PRINCIPAL.test(e.identityArn) ? e.identityArn : UNRECOGNISED_IDENTITY;
        const exact = {
          accountId: e.accountId,
          identityArn: e.identityArn === null ? null : shown,
          promptTokens: e.promptTokens,
          completionTokens: e.completionTokens,
          requestSize: e.requestSize,
          cacheReadTokens: e.cacheReadTokens,
          cacheWriteTokens: e.cacheWriteTokens,
        };
        if (!g.imitation) {
          expect(sim).toEqual(exact);
          return;
        }
        // The query's known limits (docs/design.md): an imitation in a free-form object may raise a value or supply a missing
        // one, never lower one that is present.
        expect(sim.accountId).toBe(e.accountId);
        // A body without its own count after it can be shortened by an imitation (listed too).
        const metrics = g.ownPromptKey
          ? (["promptTokens", "completionTokens", "requestSize"] as const)
          : (["promptTokens", "completionTokens"] as const);
        for (const k of metrics) {
          const want = exact[k];
          if (want !== null) expect(sim[k], k).toBeGreaterThanOrEqual(want);
        }
      }),
      { numRuns: 400 },
    );
    expect(compared).toBeGreaterThan(100);
  });
});

/** A file segment: a good record (framed somehow) or broken text. */
type Segment =
  | { good: true; record: InvocationRecord; lines: readonly string[] }
  | { good: false; lines: readonly string[] };

const goodRecord = adversarialRecord({ rawNewlines: false, maxDepth: 200 })
  .map((g) => ({ text: g.text, record: referenceRead(g.text) }))
  .filter((g): g is { text: string; record: InvocationRecord } => g.record !== null);

const segment: fc.Arbitrary<Segment> = fc.oneof(
  {
    weight: 3,
    arbitrary: goodRecord.map((g) => ({ good: true as const, record: g.record, lines: [g.text] })),
  },
  goodRecord.map((g) => ({
    good: true as const,
    record: g.record,
    lines: [`2026-11-19T12:00:00.000Z ${g.text}`],
  })),
  fc
    .tuple(goodRecord, fc.integer({ min: 0, max: 4 }), fc.constantFrom("", "  ", "\t"))
    .map(([g, indent, margin]) => ({
      good: true as const,
      record: g.record,
      lines: pretty(g.text, indent, margin).split("\n"),
    })),
  // Broken text: a record cut anywhere, a partial pretty-printed one, a lone brace, a line of noise.
  fc
    .tuple(goodRecord, fc.double({ min: 0.05, max: 0.95, noNaN: true }))
    .map(([g, at]) => ({ good: false as const, lines: [g.text.slice(0, Math.floor(g.text.length * at))] })),
  fc
    .tuple(goodRecord, fc.integer({ min: 0, max: 4 }), fc.double({ min: 0.05, max: 0.9, noNaN: true }))
    .map(([g, indent, at]) => {
      const lines = pretty(g.text, indent).split("\n");
      return { good: false as const, lines: lines.slice(0, Math.max(1, Math.floor(lines.length * at))) };
    }),
  fc.constantFrom(
    { good: false as const, lines: ["{"] },
    { good: false as const, lines: ["ERROR truncated export"] },
  ),
);

describe("differential: file framing", () => {
  it("every good record is read, whatever broken text surrounds it; broken text costs at most a line each", () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 8 }), (segments) => {
        const lines = segments.flatMap((s) => s.lines);
        const a = new RecordAssembler();
        const items: FileItem[] = [...lines.flatMap((l, i) => a.push(l, i + 1)), ...a.end()];
        const key = (r: InvocationRecord) =>
          JSON.stringify(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));
        const read = items.flatMap((i) => (i.kind === "record" ? [key(i.record)] : [])).sort();
        const want = segments.flatMap((s) => (s.good ? [key(s.record)] : [])).sort();
        expect(read).toEqual(want);
        const broken = segments.filter((s) => !s.good).length;
        const malformed = items.filter((i) => i.kind === "malformed").length;
        expect(malformed).toBeLessThanOrEqual(broken);
        if (broken > 0) expect(malformed).toBeGreaterThan(0);
      }),
      { numRuns: 150 },
    );
  });
});
