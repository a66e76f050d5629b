import { describe, expect, it } from "vitest";
import { reportFromUsage } from "../../cli/usage-report.js";
import { resolveSettings } from "../../config/resolve-settings.js";
import { RULE_SETTINGS, ruleFrom } from "../../config/rule-settings.js";
import { DAY_MS, HOUR_MS } from "../../core/rule.js";
import { type UsageGroup, usageOfRecord } from "../../core/usage.js";
import { rec } from "../helpers/records.js";

const RULE = ruleFrom(resolveSettings(RULE_SETTINGS, {}, "cli"));
const WINDOW = { startMs: Date.parse("2026-11-19T00:00:00Z"), endMs: Date.parse("2026-11-20T00:00:00Z") };
const ALICE = "arn:aws:iam::111111111111:user/alice";

/** One principal's hour of `tokens` completion tokens in `requests` requests. */
const hour = (hourMs: number, tokens: number, requests = 1): UsageGroup => ({
  ...usageOfRecord(
    rec({ accountId: "111111111111", identityArn: ALICE, timestampMs: hourMs, completionTokens: tokens }),
    null,
    RULE.cachedInputTokens,
  ),
  requests,
});

describe("reportFromUsage: a query engine's usage groups to a scan's report", () => {
  const spike = hour(WINDOW.startMs + 10 * HOUR_MS, 20_000_000);

  it("history groups are only anomaly's baseline: a busy past hour quiets the spike, and is no finding itself", () => {
    const alone = reportFromUsage({ window: [spike], history: [] }, RULE, WINDOW);
    expect(alone.findings.map((f) => f.detections)).toEqual([["token-volume", "anomaly"]]);
    // Two past hours as busy as the spike: its baseline, no anomaly.
    const history = [1, 2].map((d) => hour(WINDOW.startMs - d * DAY_MS, 20_000_000));
    const usual = reportFromUsage({ window: [spike], history }, RULE, WINDOW);
    expect(usual.findings.map((f) => f.detections)).toEqual([["token-volume"]]);
    expect(usual.records).toEqual({ inWindow: 1, inHistory: 2, matched: 0 });
    // The same busy hours inside the history span only: nothing of theirs is reported as a finding.
    expect(reportFromUsage({ window: [], history }, RULE, WINDOW).findings).toEqual([]);
  });

  it("history is known from the earliest request found, or from when the source holds every record", () => {
    const threeDaysBack = WINDOW.startMs - 3 * DAY_MS;
    const history = [hour(threeDaysBack, 1000)];
    const asked = WINDOW.startMs - RULE.baselineDays * DAY_MS;
    const found = reportFromUsage({ window: [spike], history }, RULE, WINDOW);
    expect(found.history).toEqual({
      asked: { startMs: asked, endMs: WINDOW.startMs },
      foundFromMs: threeDaysBack,
      records: 1,
    });
    expect(found.findings[0]?.anomaly?.historyHours).toBe(72 + 10);
    // A log group created long before: every hour of the baseline is known, quiet or not.
    const whole = reportFromUsage({ window: [spike], history }, RULE, WINDOW, asked - 30 * DAY_MS);
    expect(whole.history.foundFromMs).toBe(asked);
    expect(whole.findings[0]?.anomaly?.historyHours).toBe(RULE.baselineDays * 24);
    // Nothing found at all: no history, and no record span.
    const none = reportFromUsage({ window: [], history: [] }, RULE, WINDOW);
    expect(none.history.foundFromMs).toBe(WINDOW.startMs);
    expect(none.recordSpan).toBeNull();
  });
});
