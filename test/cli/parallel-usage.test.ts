/**
 * What the parallel scanner's threads send each other for the records in the window (cli/compact-records.ts):
 * the records read back exactly as they were read, posted as a worker posts them; and the packing of request
 * ids that counts copies once (core/record-evaluator.ts packUuid) is exactly the one it replaced.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CompactRecords,
  compactBuffers,
  RecordEncoder,
  recordAt,
  recordCount,
} from "../../cli/compact-records.js";
import { DEFAULT_RULE } from "../../config/rule-settings.js";
import { packUuid, RuleEvaluator } from "../../core/record-evaluator.js";
import type { InvocationRecord } from "../../core/record-reader.js";

/** The packing packUuid replaces: a regular expression and the hex digits' bytes. */
function packHexReference(id: string): string | null {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/.exec(id);
  if (!m) return null;
  const hex = m.slice(1).join("");
  const codes: number[] = [];
  for (let i = 0; i < hex.length; i += 2) codes.push(Number.parseInt(hex.slice(i, i + 2), 16));
  return String.fromCharCode(...codes);
}

const uuidArb = fc.uuid().map((u) => u.toLowerCase());
/** Ids near a UUID: a character replaced (upper case, a dash, a non-hex digit, past ASCII, a lone surrogate). */
const nearUuidArb = fc
  .tuple(uuidArb, fc.nat(35), fc.constantFrom("A", "F", "g", "-", "0", "\u00e9", "\u0660", "\n", "\ud800"))
  .map(([u, i, c]) => u.slice(0, i) + c + u.slice(i + 1));
const idArb = fc.oneof(
  uuidArb,
  nearUuidArb,
  uuidArb.map((u) => u.toUpperCase()),
  uuidArb.map((u) => `${u}\n`),
  uuidArb.map((u) => u.slice(1)),
  fc.string({ maxLength: 40, unit: "binary" }),
);

describe("packUuid", () => {
  it("packs exactly the ids the regular expression accepted, into the same 16 characters", () => {
    fc.assert(
      fc.property(idArb, (id) => {
        expect(packUuid(id)).toBe(packHexReference(id));
      }),
      { numRuns: 5000 },
    );
  });

  it("packs every byte value", () => {
    for (const id of ["00ff7f80-0a1b-2c3d-4e5f-6789abcdef01", "ffffffff-ffff-ffff-ffff-ffffffffffff"]) {
      expect(packUuid(id)).toBe(packHexReference(id));
      expect(packUuid(id)?.length).toBe(16);
    }
  });

  it("copies are told apart by account and id, UUID or not", () => {
    const e = new RuleEvaluator(DEFAULT_RULE, { startMs: 0, endMs: 1 });
    const r = (accountId: string, requestId: string | null): InvocationRecord => ({
      timestamp: "1970-01-01T00:00:00Z",
      timestampMs: 0,
      accountId,
      requestId,
      identityArn: null,
      modelId: null,
      operation: null,
      errorCode: null,
      promptTokens: 1,
      completionTokens: null,
      cacheReadTokens: null,
      cacheWriteTokens: null,
      requestSize: null,
    });
    const u = "0123abcd-0000-4000-8000-00000000beef";
    // A UUID, the same in upper case, a 16-character id whose JSON text is 18 characters, no id.
    for (const rec of [r("1", u), r("1", u), r("2", u), r("1", u.toUpperCase()), r("1", null), r("1", null)])
      e.add(rec);
    e.add(r("1", "\u0001#\u00ab\u00cd\u0000\u0000@\u0000\u0080\u0000\u0000\u0000\u0000\u0000\u00be\u00ef"));
    expect(e.stats.copies).toBe(1);
  });
});

const count = fc.option(
  fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constant(0), fc.constant(999_999_999_999_999)),
  { nil: null },
);
const someString = fc.string({ maxLength: 12, unit: "binary" });

const recordArb: fc.Arbitrary<InvocationRecord> = fc
  .record({
    accountId: fc.oneof(fc.constantFrom("111111111111", "222222222222"), someString),
    requestId: fc.option(
      fc.oneof(
        uuidArb,
        nearUuidArb,
        someString.filter((s) => s !== ""),
      ),
      { nil: null },
    ),
    identityArn: fc.option(
      fc.oneof(
        fc.constantFrom("arn:aws:iam::111111111111:user/alice", "arn:aws:sts::1:assumed-role/r/s"),
        someString,
      ),
      { nil: null },
    ),
    modelId: fc.option(
      fc.oneof(fc.constantFrom("m1", "anthropic.claude-3-haiku-20240307-v1:0"), someString),
      {
        nil: null,
      },
    ),
    timestampMs: fc.oneof(fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.constant(-0)),
    operation: fc.option(fc.constantFrom("InvokeModel", "Converse", ""), { nil: null }),
    errorCode: fc.option(someString, { nil: null }),
    promptTokens: count,
    completionTokens: count,
    cacheReadTokens: count,
    cacheWriteTokens: count,
    requestSize: count,
  })
  .chain((r) =>
    fc
      .oneof(
        fc.constant(Number.isFinite(r.timestampMs) ? new Date(r.timestampMs).toISOString() : ""),
        someString,
      )
      // In the reader's key order (core/record-reader.ts recordFrom).
      .map(
        (timestamp): InvocationRecord => ({
          timestamp,
          timestampMs: r.timestampMs,
          accountId: r.accountId,
          requestId: r.requestId,
          identityArn: r.identityArn,
          modelId: r.modelId,
          operation: r.operation,
          errorCode: r.errorCode,
          promptTokens: r.promptTokens,
          completionTokens: r.completionTokens,
          cacheReadTokens: r.cacheReadTokens,
          cacheWriteTokens: r.cacheWriteTokens,
          requestSize: r.requestSize,
        }),
      ),
  );

/** Records encoded one at a time, as a part reads them. */
function encoded(records: readonly InvocationRecord[]): CompactRecords {
  const encoder = new RecordEncoder();
  for (const r of records) encoder.add(r);
  return encoder.finish();
}

/** Each record back, one at a time, as a shard adds them. */
const decoded = (c: CompactRecords): InvocationRecord[] =>
  Array.from({ length: recordCount(c) }, (_, i) => recordAt(c, i));

/** The records as another thread gets them: encoded, cloned with the buffers moved, decoded. */
function posted(records: readonly InvocationRecord[]): InvocationRecord[] {
  const compact = encoded(records);
  return decoded(structuredClone(compact, { transfer: compactBuffers(compact) }));
}

describe("compact records (what a worker posts)", () => {
  it("read back exactly: null counts, ids that are not UUIDs or absent, missing identity and model", () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 60 }), (records) => {
        const back = posted(records);
        expect(back).toEqual(records);
        // toEqual tells -0 from 0; the key order is the reader's.
        for (const [i, r] of back.entries())
          expect(Object.keys(r)).toEqual(Object.keys(records[i] as InvocationRecord));
      }),
      { numRuns: 500 },
    );
  });

  it("none, and a part's buffers are moved (the worker keeps nothing)", () => {
    expect(posted([])).toEqual([]);
    const compact = encoded([
      {
        timestamp: "2026-11-19T12:00:00Z",
        timestampMs: Date.parse("2026-11-19T12:00:00Z"),
        accountId: "111111111111",
        requestId: "r-1",
        identityArn: null,
        modelId: null,
        operation: null,
        errorCode: null,
        promptTokens: null,
        completionTokens: 0,
        cacheReadTokens: null,
        cacheWriteTokens: null,
        requestSize: null,
      },
    ]);
    const moved = structuredClone(compact, { transfer: compactBuffers(compact) });
    expect(compact.refs.length).toBe(0);
    expect(compact.numbers.length).toBe(0);
    expect(decoded(moved)[0]?.completionTokens).toBe(0);
    expect(decoded(moved)[0]?.promptTokens).toBeNull();
  });
});
