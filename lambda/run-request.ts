/**
 * What a run evaluates, from its event: a scheduled run (EventBridge Scheduler input carrying
 * `<aws.scheduler.scheduled-time>`, or an EventBridge rule's Scheduled Event), or a manual run for backfill
 * and testing. A retried scheduled invocation carries the same scheduled time, so it evaluates the same window.
 */
// A namespace import: esbuild then bundles only what is used (the `z` object holds every locale: 0.75 MB).
import * as z from "zod";
import { DAY_MS, parseIsoTimestamp, type Window } from "../core/rule.js";
import { floorToPeriod } from "../core/slices.js";
import type { DetectorConfig } from "./config.js";
import { EventError } from "./errors.js";

/** Manual windows longer than this are refused: Insights bills every byte in the range. */
export const MAX_MANUAL_WINDOW_MS = 7 * DAY_MS;

export interface RunRequest {
  readonly trigger: "scheduled" | "manual";
  readonly window: Window;
  readonly dryRun: boolean;
}

const isoTime = (what: string) =>
  z.string({ error: `${what} must be an ISO-8601 string` }).transform((v, ctx) => {
    const ms = parseIsoTimestamp(v);
    if (ms === null) {
      ctx.addIssue({ code: "custom", message: `${what} "${v}" is not an ISO-8601 time with a zone` });
      return z.NEVER;
    }
    return ms;
  });

const scheduledEvent = z.object({ scheduledTime: isoTime("scheduledTime") });
const ruleScheduledEvent = z.object({ "detail-type": z.literal("Scheduled Event"), time: isoTime("time") });
const manualEvent = z.strictObject({
  start: isoTime("start"),
  end: isoTime("end"),
  dryRun: z.boolean({ error: "dryRun must be true or false" }).optional(),
});

function describe(error: z.ZodError): string {
  return error.issues.map((i) => i.message).join("; ");
}

/** Reads the event; throws EventError for anything that is not a valid scheduled or manual run. */
export function toRunRequest(event: unknown, config: DetectorConfig, nowMs: number): RunRequest {
  if (typeof event !== "object" || event === null) throw new EventError("event must be a JSON object");
  const scheduled =
    "scheduledTime" in event ? scheduledEvent.safeParse(event) : ruleScheduledEvent.safeParse(event);
  if ("scheduledTime" in event || "detail-type" in event) {
    if (!scheduled.success) throw new EventError(`scheduled event: ${describe(scheduled.error)}`);
    const at = "scheduledTime" in scheduled.data ? scheduled.data.scheduledTime : scheduled.data.time;
    // On the period's lattice (the cron schedule fires there plus the settle delay), so the window is whole
    // stored slices; a scheduled time off the lattice (an invocation by hand) rounds down.
    const endMs = floorToPeriod(at - config.settleDelayMs, config.schedulePeriodMs);
    return {
      trigger: "scheduled",
      window: { startMs: endMs - config.rule.lookbackMs, endMs },
      dryRun: config.dryRun,
    };
  }
  const manual = manualEvent.safeParse(event);
  if (!manual.success) {
    throw new EventError(
      `expected a scheduled event {"scheduledTime": ISO} or a manual run {"start": ISO, "end": ISO, "dryRun"?: boolean}: ${describe(manual.error)}`,
    );
  }
  const { start, end, dryRun } = manual.data;
  if (start >= end) throw new EventError("start must be before end");
  if (end > nowMs) throw new EventError(`end ${new Date(end).toISOString()} is in the future`);
  if (end - start > MAX_MANUAL_WINDOW_MS) {
    throw new EventError(`window is longer than ${MAX_MANUAL_WINDOW_MS / DAY_MS} days; split the backfill`);
  }
  return { trigger: "manual", window: { startMs: start, endMs: end }, dryRun: dryRun ?? config.dryRun };
}
