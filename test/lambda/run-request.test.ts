import { describe, expect, it } from "vitest";
import { DAY_MS } from "../../core/rule.js";
import { EventError } from "../../lambda/errors.js";
import { toRunRequest } from "../../lambda/run-request.js";
import { detectorConfig } from "../helpers/aws.js";

const config = detectorConfig();
const NOW = Date.parse("2026-11-20T12:00:00Z");

describe("toRunRequest", () => {
  it("a scheduled run ends at the scheduled time minus the settle delay and spans the lookback", () => {
    // The cron schedule fires 5 minutes (the settle delay) past each 15-minute boundary.
    const r = toRunRequest({ scheduledTime: "2026-11-20T12:05:00Z" }, config, NOW);
    expect(r).toEqual({
      trigger: "scheduled",
      dryRun: false,
      window: { startMs: Date.parse("2026-11-19T12:00:00Z"), endMs: Date.parse("2026-11-20T12:00:00Z") },
    });
  });

  it("a scheduled time off the period's lattice rounds the window end down to a period boundary", () => {
    const r = toRunRequest({ scheduledTime: "2026-11-20T12:00:00Z" }, config, NOW);
    expect(r.window.endMs).toBe(Date.parse("2026-11-20T11:45:00Z"));
    expect((r.window.endMs - r.window.startMs) % (15 * 60_000)).toBe(0);
  });

  it("a retried scheduled invocation evaluates the same window, whenever it runs", () => {
    const first = toRunRequest({ scheduledTime: "2026-11-20T12:00:00Z" }, config, NOW);
    const retry = toRunRequest({ scheduledTime: "2026-11-20T12:00:00Z" }, config, NOW + 3_600_000);
    expect(retry.window).toEqual(first.window);
  });

  it("accepts an EventBridge rule's Scheduled Event", () => {
    const r = toRunRequest(
      { "detail-type": "Scheduled Event", source: "aws.events", time: "2026-11-20T12:00:00Z" },
      config,
      NOW,
    );
    expect(r.window.endMs).toBe(Date.parse("2026-11-20T11:45:00Z"));
  });

  it("a manual run uses its own window and dry-run flag", () => {
    const r = toRunRequest(
      { start: "2026-11-18T00:00:00Z", end: "2026-11-19T00:00:00Z", dryRun: true },
      config,
      NOW,
    );
    expect(r).toEqual({
      trigger: "manual",
      dryRun: true,
      window: { startMs: Date.parse("2026-11-18T00:00:00Z"), endMs: Date.parse("2026-11-19T00:00:00Z") },
    });
  });

  it.each([
    [{ start: "2026-11-19T00:00:00Z", end: "2026-11-18T00:00:00Z" }, "start must be before end"],
    [{ start: "2026-11-20T00:00:00Z", end: "2026-11-21T00:00:00Z" }, "is in the future"],
    [{ start: "2026-11-01T00:00:00Z", end: "2026-11-20T00:00:00Z" }, "longer than 7 days"],
    [{ start: "yesterday", end: "2026-11-20T00:00:00Z" }, 'start "yesterday" is not an ISO-8601 time'],
    [
      { start: "2026-11-18T00:00:00Z", end: "2026-11-19T00:00:00Z", dryRun: "yes" },
      "dryRun must be true or false",
    ],
    [{ scheduledTime: "not a time" }, 'scheduled event: scheduledTime "not a time"'],
    [{ hello: "world" }, "expected a scheduled event"],
    [null, "event must be a JSON object"],
  ])("rejects %j clearly", (event, message) => {
    expect(() => toRunRequest(event, config, NOW)).toThrow(EventError);
    expect(() => toRunRequest(event, config, NOW)).toThrow(message);
  });

  it("the longest manual window is accepted", () => {
    const end = NOW - 1000;
    expect(
      toRunRequest(
        { start: new Date(end - 7 * DAY_MS).toISOString(), end: new Date(end).toISOString() },
        config,
        NOW,
      ).trigger,
    ).toBe("manual");
  });
});
