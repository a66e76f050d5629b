import { describe, expect, it } from "vitest";
import {
  DAY_MS,
  DEFAULT_RULE,
  defineRule,
  parseDuration,
  parseIsoOption,
  parseIsoTimestamp,
  RuleConfigError,
  resolveWindow,
} from "../core/rule.js";

describe("defineRule", () => {
  it("defaults to the hunt: 8000 for every metric, more than one request, 24 hours", () => {
    expect(DEFAULT_RULE).toEqual({
      thresholds: { promptTokens: 8000, requestSize: 8000, completionTokens: 8000 },
      minRequests: 2,
      lookbackMs: DAY_MS,
    });
    expect(defineRule()).toEqual(DEFAULT_RULE);
  });

  it("applies overrides and keeps the other defaults", () => {
    const r = defineRule({ thresholds: { requestSize: 20_000 }, minRequests: 5 });
    expect(r.thresholds).toEqual({ promptTokens: 8000, requestSize: 20_000, completionTokens: 8000 });
    expect(r.minRequests).toBe(5);
  });

  it.each([
    [{ thresholds: { promptTokens: 0 } }, "prompt-tokens threshold must be greater than 0"],
    [{ thresholds: { completionTokens: 1.5 } }, "completion-tokens threshold must be a whole number"],
    [{ minRequests: -1 }, "min-requests must be greater than 0"],
    [{ lookbackMs: 40 * DAY_MS }, "lookback must be at most 31 days"],
  ])("rejects %j with a message naming the value", (overrides, message) => {
    expect(() => defineRule(overrides)).toThrow(new RuleConfigError(message));
  });

  it("rejects unknown keys", () => {
    expect(() => defineRule({ thresholds: { tokens: 5 } } as never)).toThrow(RuleConfigError);
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
    expect(parseIsoTimestamp("2026-11-19T10:00:00.123456789Z")).toBe(Date.UTC(2026, 10, 19, 10, 0, 0, 123));
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
    expect(() => resolveWindow(DEFAULT_RULE, { nowMs: 0, startMs: now, endMs: now })).toThrow(
      "must be before its end",
    );
    expect(() => resolveWindow(DEFAULT_RULE, { nowMs: 0, startMs: 0, endMs: 32 * DAY_MS })).toThrow(
      "longer than 31 days",
    );
  });
});
