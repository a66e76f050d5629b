/**
 * `anomaly` (docs/detections.md): each principal against its own history. An hour fires when the principal's
 * total tokens in it are above `max(anomalyFactor x baseline, anomalyFloorTokens)`, the baseline being the
 * second-largest of the principal's hourly totals over the `baselineDays` x 24 clock hours before (hours without
 * requests count 0, so one past outlier is ignored and a daily batch is its own baseline). Engines bring the
 * history (the scanner from records before the window, the Lambda from its hourly roll-ups); this module only
 * compares.
 */
import { keptPrincipalOf } from "./exclusions.js";
import { HOUR_MS, hourOf, type Rule } from "./rule.js";
import { totalTokensOf, type UsageGroup } from "./usage.js";

/**
 * Token totals add up to at most Number.MAX_SAFE_INTEGER. Beyond it float addition rounds, and a total would
 * depend on the order and grouping of its terms; the scanner's threads sum an hour's tokens part by part first.
 * Saturating, the total is the same however it is grouped. (Each count has at most 15 digits: only absurd
 * records get there.)
 */
export const addTokens = (a: number, b: number): number => Math.min(a + b, Number.MAX_SAFE_INTEGER);

/** Total tokens per principal per clock hour: account -> principal -> hour start -> tokens. */
export class HourlyTotals {
  private readonly byAccount = new Map<string, Map<string, Map<number, number>>>();

  add(accountId: string, principal: string, hourMs: number, tokens: number): void {
    let principals = this.byAccount.get(accountId);
    if (!principals) {
      principals = new Map();
      this.byAccount.set(accountId, principals);
    }
    let hours = principals.get(principal);
    if (!hours) {
      hours = new Map();
      principals.set(principal, hours);
    }
    hours.set(hourMs, addTokens(hours.get(hourMs) ?? 0, tokens));
  }

  /** A principal's hours (start -> tokens); undefined when it has none. */
  get(accountId: string, principal: string): ReadonlyMap<number, number> | undefined {
    return this.byAccount.get(accountId)?.get(principal);
  }

  *entries(): Generator<{ accountId: string; principal: string; hourMs: number; tokens: number }> {
    for (const [accountId, principals] of this.byAccount)
      for (const [principal, hours] of principals)
        for (const [hourMs, tokens] of hours) yield { accountId, principal, hourMs, tokens };
  }

  /** Principal-hours held: what the memory grows with. */
  get size(): number {
    let n = 0;
    for (const principals of this.byAccount.values())
      for (const hours of principals.values()) n += hours.size;
    return n;
  }
}

/** What an engine knows of the time before a window. */
export interface History {
  /**
   * Whole-hour totals per principal before the window's start, exclusions applied (the part of the window's
   * first clock hour before its start included). The window's own hours come from its usage groups.
   */
  readonly totals: HourlyTotals;
  /** History is known from this hour start up to the window; earlier hours are unknown (not counted as 0 hours). */
  readonly knownFromMs: number;
  /** Principals whose history could not be read (`account\u0000principal`): compared with the floor alone. */
  readonly unread?: ReadonlySet<string>;
}

export const principalKey = (accountId: string, principal: string): string =>
  `${accountId}\u0000${principal}`;

/** No history: only the window's own hours count (a principal is compared with the floor alone at first). */
export const noHistory = (windowStartMs: number): History => ({
  totals: new HourlyTotals(),
  knownFromMs: hourOf(windowStartMs),
});

/** One principal-hour compared with its baseline. */
export interface Comparison {
  /** The second-largest hourly total over the hours before (0 without two hours of requests). */
  readonly baselineTokens: number;
  /** `max(anomalyFactor x baseline, anomalyFloorTokens)`: the hour fires above it. */
  readonly thresholdTokens: number;
  /** Hours of the `baselineDays` x 24 before that the engine knew (fewer: history shorter than asked). */
  readonly historyHours: number;
  /** Of those, the hours in which the principal had requests (0: no history). */
  readonly activeHours: number;
  /** The principal's history could not be read: compared with the floor alone. */
  readonly unread: boolean;
}

/**
 * Compares one hour of a principal with its history. `hours`: the principal's whole-hour totals (history and
 * the window's hours before this one, merged); `tokens`: the hour's own total, cut to the window.
 */
export function compare(
  rule: Pick<Rule, "anomalyFactor" | "anomalyFloorTokens" | "baselineDays">,
  hours: ReadonlyMap<number, number> | undefined,
  hourMs: number,
  knownFromMs: number,
  unread = false,
): Comparison {
  const fromMs = hourMs - rule.baselineDays * 24 * HOUR_MS;
  let first = 0;
  let second = 0;
  let activeHours = 0;
  if (!unread) {
    for (const [k, t] of hours ?? []) {
      if (k < fromMs || k >= hourMs || t <= 0) continue;
      activeHours++;
      if (t > first) {
        second = first;
        first = t;
      } else if (t > second) second = t;
    }
  }
  return {
    baselineTokens: second,
    thresholdTokens: Math.max(rule.anomalyFactor * second, rule.anomalyFloorTokens),
    historyHours: unread ? 0 : Math.max(0, (hourMs - Math.max(fromMs, knownFromMs)) / HOUR_MS),
    activeHours,
    unread,
  };
}

/** Each principal's total tokens per clock hour in usage groups, after the rule's exclusions. */
export function hourlyTotalsOf(groups: Iterable<UsageGroup>, rule: Rule): HourlyTotals {
  const kept = keptPrincipalOf(rule);
  const totals = new HourlyTotals();
  for (const g of groups) {
    const principal = kept(g.accountId, g.identityArn);
    if (principal !== null) totals.add(g.accountId, principal, g.hourMs, totalTokensOf(g));
  }
  return totals;
}

/**
 * Where known history starts: the earliest hour from which every hour up to `untilMs` is in `hours` (walking
 * back from `untilMs`, at most to `fromMs`). A gap ends it: older hours past a gap are not counted as known.
 */
export function knownFromOf(hours: ReadonlySet<number>, fromMs: number, untilMs: number): number {
  let known = untilMs;
  while (known - HOUR_MS >= fromMs && hours.has(known - HOUR_MS)) known -= HOUR_MS;
  return known;
}
