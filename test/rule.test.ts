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
  });

  it("accepts ISO-8601 only with an explicit zone", () => {
    expect(parseIsoTimestamp("2026-11-19T10:00:00Z")).toBe(Date.UTC(2026, 10, 19, 10));
    expect(parseIsoTimestamp("2026-11-19T12:00:00+02:00")).toBe(Date.UTC(2026, 10, 19, 10));
    expect(parseIsoTimestamp("2026-11-19T10:00:00")).toBeNull();
    expect(parseIsoTimestamp("2026-13-45T10:00:00Z")).toBeNull();
    expect(() => parseIsoOption("yesterday", "--start")).toThrow(
      '--start "yesterday" is not an ISO-8601 time',
    );
  });

  it("resolves windows from an end, a start, both or neither", () => {
    const now = Date.UTC(2026, 10, 20);
    expect(resolveWindow(DEFAULT_RULE, { nowMs: now })).toEqual({ startMs: now - DAY_MS, endMs: now });
    expect(resolveWindow(DEFAULT_RULE, { nowMs: 0, startMs: now })).toEqual({
      startMs: now,
      endMs: now + DAY_MS,
    });
    expect(() => resolveWindow(DEFAULT_RULE, { nowMs: 0, startMs: now, endMs: now })).toThrow(
      "must be before its end",
    );
    expect(() => resolveWindow(DEFAULT_RULE, { nowMs: 0, startMs: 0, endMs: 32 * DAY_MS })).toThrow(
      "longer than 31 days",
    );
  });
});
