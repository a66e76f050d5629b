import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_RULE, defineRule } from "../../config/rule-settings.js";
import { SettingsError } from "../../config/setting-problems.js";
import { inWindow } from "../../core/evaluator.js";
import {
  DAY_MS,
  parseDuration,
  parseInstant,
  parseIsoOption,
  parseIsoTimestamp,
  parseRecordTimestamp,
  resolveWindow,
} from "../../core/rule.js";

describe("defineRule", () => {
  it("defaults to the hunt: 8000 for every metric, more than one request, 24 hours", () => {
    expect(DEFAULT_RULE).toEqual({
      thresholds: { promptTokens: 8000, requestSize: 8000, completionTokens: 8000 },
      minRequests: 2,
      lookbackMs: DAY_MS,
      excludedAccountIds: [],
      excludedIdentityPatterns: [],
      // The detections beyond the hunt (docs/detections.md); no per-model thresholds: the hunt is Elastic's.
      modelThresholds: [],
      cachedInputTokens: 80_000,
      tokensPerHour: 10_000_000,
      requestsPerHour: 10_000,
      // anomaly: 10x the usual busiest hour over a week, and above 2 M tokens.
      anomalyFactor: 10,
      anomalyFloorTokens: 2_000_000,
      baselineDays: 7,
    });
    expect(defineRule()).toEqual(DEFAULT_RULE);
  });

  it("applies overrides and keeps the other defaults", () => {
    const r = defineRule({ thresholds: { requestSize: 20_000 }, minRequests: 5 });
    expect(r.thresholds).toEqual({ promptTokens: 8000, requestSize: 20_000, completionTokens: 8000 });
    expect(r.minRequests).toBe(5);
  });

  it.each([
    [
      { thresholds: { promptTokens: 0 } },
      /^thresholds.promptTokens must be a whole number from 1 to .*, got 0$/,
    ],
    [{ thresholds: { completionTokens: 1.5 } }, /^thresholds.completionTokens must be a whole number/],
    [{ minRequests: -1 }, /^minRequests must be a whole number from 1/],
    [{ lookbackMs: 4000 * DAY_MS }, /^lookback must be whole seconds from 1m to 3660d, got 4000d$/],
  ])("rejects %j with a message naming the value", (overrides, message) => {
    expect(() => defineRule(overrides)).toThrow(SettingsError);
    expect(() => defineRule(overrides)).toThrow(message);
  });

  it("rejects unknown keys", () => {
    expect(() => defineRule({ thresholds: { tokens: 5 } } as never)).toThrow(/not rule properties: tokens/);
  });
});

describe("durations and times", () => {
  it("parses durations", () => {
    expect(parseDuration("90m")).toBe(90 * 60_000);
    expect(parseDuration("24h")).toBe(DAY_MS);
    expect(parseDuration("7d")).toBe(7 * DAY_MS);
    expect(() => parseDuration("1 day", "--lookback")).toThrow('--lookback "1 day" is not a duration');
    expect(() => parseDuration("0h")).toThrow("must be greater than 0");
    expect(() => parseDuration("99999999999999d")).toThrow("is too large");
  });

  it("accepts ISO-8601 only with an explicit zone", () => {
    expect(parseIsoTimestamp("2026-11-19T10:00:00Z")).toBe(Date.UTC(2026, 10, 19, 10));
    expect(parseIsoTimestamp("2026-11-19T12:00:00+02:00")).toBe(Date.UTC(2026, 10, 19, 10));
    expect(parseIsoTimestamp("2026-11-19T10:00:00")).toBeNull();
    expect(parseIsoTimestamp("2026-13-45T10:00:00Z")).toBeNull();
    // Real calendar dates only: no rolling over into the next month or day.
    expect(parseIsoTimestamp("2026-02-31T00:00:00Z")).toBeNull();
    expect(parseIsoTimestamp("2026-02-29T00:00:00Z")).toBeNull();
    expect(parseIsoTimestamp("2028-02-29T00:00:00Z")).toBe(Date.UTC(2028, 1, 29));
    expect(parseIsoTimestamp("2026-11-19T24:00:00Z")).toBeNull();
    expect(parseIsoTimestamp("2026-11-19T10:60:00Z")).toBeNull();
    expect(parseIsoTimestamp("2026-11-19T10:00:00.123000000Z")).toBe(Date.UTC(2026, 10, 19, 10, 0, 0, 123));
    // A bound finer than a millisecond cannot be compared exactly with whole-millisecond windows: refused.
    expect(parseIsoTimestamp("2026-11-19T10:00:00.123456789Z")).toBeNull();
    expect(() => parseIsoOption("yesterday", "--start")).toThrow(
      '--start "yesterday" is not an ISO-8601 date or time with a zone',
    );
  });

  it("options: a date alone is midnight UTC; an impossible date says why", () => {
    expect(parseIsoOption("2026-11-19", "--start")).toBe(Date.UTC(2026, 10, 19));
    expect(parseIsoOption("2028-02-29", "--start")).toBe(Date.UTC(2028, 1, 29));
    expect(() => parseIsoOption("2026-02-30", "--start")).toThrow(
      '--start "2026-02-30" is not a real date: 2026-02 has 28 days',
    );
    expect(() => parseIsoOption("2026-13-01", "--end")).toThrow(
      '--end "2026-13-01" is not a real date: there is no month 13',
    );
    expect(() => parseIsoOption("2026-11-19T25:00:00Z", "--end")).toThrow("is not a real date: an hour");
    // A time without a zone stays ambiguous and is refused.
    expect(() => parseIsoOption("2026-11-19T10:00", "--end")).toThrow(
      "is not an ISO-8601 date or time with a zone",
    );
  });

  it("resolves windows from an end, a start, both or neither", () => {
    const now = Date.UTC(2026, 10, 20);
    expect(resolveWindow(DEFAULT_RULE, { nowMs: now })).toEqual({ startMs: now - DAY_MS, endMs: now });
    // A start alone runs to now, as --end defaults to now.
    expect(resolveWindow(DEFAULT_RULE, { nowMs: now, startMs: now - 3 * DAY_MS })).toEqual({
      startMs: now - 3 * DAY_MS,
      endMs: now,
    });
    // A start with a lookback given: that long from the start, not to now.
    const week = { ...DEFAULT_RULE, lookbackMs: 7 * DAY_MS };
    expect(resolveWindow(week, { nowMs: now, startMs: now - 30 * DAY_MS, lookbackGiven: true })).toEqual({
      startMs: now - 30 * DAY_MS,
      endMs: now - 23 * DAY_MS,
    });
    // An end with a lookback: that long before the end.
    expect(resolveWindow(week, { nowMs: now, endMs: now - DAY_MS, lookbackGiven: true })).toEqual({
      startMs: now - 8 * DAY_MS,
      endMs: now - DAY_MS,
    });
    expect(() =>
      resolveWindow(week, { nowMs: now, startMs: now - 9 * DAY_MS, endMs: now, lookbackGiven: true }),
    ).toThrow("at most two of start, end and lookback");
    expect(() => resolveWindow(DEFAULT_RULE, { nowMs: 0, startMs: now, endMs: now })).toThrow(
      "must be before its end",
    );
    expect(() => resolveWindow(DEFAULT_RULE, { nowMs: 0, startMs: 0, endMs: 32 * DAY_MS })).toThrow(
      "longer than 31 days",
    );
  });
});

describe("record timestamps (exact instants)", () => {
  it("takes a fraction of any length and any offset, and compares exactly with whole-millisecond bounds", () => {
    const end = Date.UTC(2026, 10, 20);
    // 23:59:59.9999 is before the next second: inside [start, end).
    const late = parseRecordTimestamp("2026-11-19T23:59:59.9999Z") ?? Number.NaN;
    expect(late < end).toBe(true);
    expect(parseRecordTimestamp(`2026-11-19T23:59:59.${"9".repeat(40)}Z`)).toBe(end - 1);
    expect(parseRecordTimestamp(`2026-11-20T00:00:00.${"0".repeat(30)}Z`)).toBe(end);
    expect(parseRecordTimestamp("2026-11-20T01:30:00.5+01:30")).toBe(end + 500);
    expect(parseRecordTimestamp("2026-11-19T22:00:00-02:00")).toBe(end);
    expect(parseRecordTimestamp("0050-03-01T00:00:00Z")).toBe(Date.parse("0050-03-01T00:00:00Z"));
    expect(parseRecordTimestamp("2000-02-29T00:00:00Z")).toBe(Date.UTC(2000, 1, 29));
  });

  it("the evaluator's window keeps 23:59:59.9999 before an end at the next second, and the end itself out", () => {
    const window = { startMs: Date.UTC(2026, 10, 19), endMs: Date.UTC(2026, 10, 20) };
    const at = (t: string) => inWindow(parseRecordTimestamp(t) ?? Number.NaN, window);
    expect(at("2026-11-19T23:59:59.9999Z")).toBe(true);
    expect(at(`2026-11-19T23:59:59.${"9".repeat(30)}Z`)).toBe(true);
    expect(at("2026-11-20T00:00:00.0000Z")).toBe(false);
    expect(at("2026-11-20T01:00:00+01:00")).toBe(false);
    expect(at("2026-11-19T00:00:00.000000001Z")).toBe(true);
    expect(at("2026-11-18T23:59:59.99999Z")).toBe(false);
  });

  it("Bedrock's own form (read by char codes) gives exactly what the general parser gives, valid or not", () => {
    const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, "0"));
    const stamp = fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, "0")),
        two(13),
        two(32),
        two(24),
        two(60),
        two(61),
        fc.constantFrom("", ".", ".5", ".05", ".123", ".1239", ".000000001", ".9999999", ".12a"),
        fc.constantFrom("Z", "Z", "Z", "z", "+00:00", ""),
        fc.constantFrom("-", "-", "/", "T"),
      )
      .map(([y, mo, d, h, mi, s, frac, zone, sep]) => `${y}${sep}${mo}-${d}T${h}:${mi}:${s}${frac}${zone}`);
    fc.assert(
      fc.property(stamp, (t) => {
        expect(parseRecordTimestamp(t)).toBe(parseInstant(t, { requireSeconds: true })?.ms ?? null);
      }),
      { numRuns: 3000 },
    );
  });

  it("is malformed without seconds, a zone, a real date, or with a bare fraction point", () => {
    for (const bad of [
      "2026-11-19T12:00Z",
      "2026-11-19T12:00:00",
      "2026-11-19 12:00:00Z",
      "2026-11-19T12:00:00.Z",
      "2026-11-19t12:00:00z",
      "1900-02-29T00:00:00Z",
      "2026-11-19T12:00:00+24:00",
      "2026-11-19T12:00:60Z",
    ]) {
      expect(parseRecordTimestamp(bad), bad).toBeNull();
    }
  });
});
