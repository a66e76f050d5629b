/**
 * Alert suppression: overlapping windows (a 24 h window evaluated every hour) flag the same account run after
 * run; on-call staff should hear about it once, and again only if it gets clearly worse. A retried run (same
 * window end) never re-sends.
 */
import type { Finding } from "../core/evaluator.js";

/** What the ledger remembers of the last alert for an account. */
export interface LastAlert {
  readonly windowEndMs: number;
  readonly requestCount: number;
}

/** A new alert is due within the suppression period when the request count reaches this multiple. */
export const ESCALATION_FACTOR = 2;

export type AlertDecision =
  | { readonly send: true; readonly reason: "first" | "escalated" | "suppression expired" }
  | { readonly send: false; readonly reason: "already sent for this window" | "suppressed" };

export function decideAlert(
  finding: Pick<Finding, "requestCount">,
  last: LastAlert | null,
  windowEndMs: number,
  suppressForMs: number,
): AlertDecision {
  if (!last) return { send: true, reason: "first" };
  if (last.windowEndMs === windowEndMs) return { send: false, reason: "already sent for this window" };
  if (windowEndMs - last.windowEndMs >= suppressForMs || windowEndMs < last.windowEndMs) {
    return { send: true, reason: "suppression expired" };
  }
  if (finding.requestCount >= ESCALATION_FACTOR * last.requestCount)
    return { send: true, reason: "escalated" };
  return { send: false, reason: "suppressed" };
}
