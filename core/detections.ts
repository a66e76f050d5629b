/**
 * Every detection over a window's usage groups (docs/detections.md): the hunt (`heavy-requests`), `cached-input`,
 * `token-volume` and `anomaly` (with the history the engine brings). Exclusions apply first, to all of them. A finding is one account: the hunt's fields as
 * the hunt computes them (null where the hunt did not fire), and for each detection that fired its numbers and
 * evidence. The scanner and the scheduled Lambda both end here, from records and from stored query rows.
 */

import { type Comparison, compare, type History, noHistory, principalKey } from "./anomaly.js";
import {
  type AccountAggregate,
  type Aggregates,
  addGroup,
  compareFindings,
  DEFAULT_TOP_EVIDENCE,
  type Finding,
  toFindings,
} from "./evaluator.js";
import { keptPrincipalOf } from "./exclusions.js";
import type { AnomalyEvidence, DetectionName, HuntFinding, TokenVolumeEvidence } from "./finding.js";
import { principalOf } from "./principal.js";
import { HOUR_MS, type Rule, type Window } from "./rule.js";
import { matchGroupOf, totalTokensOf, type UsageGroup } from "./usage.js";

/** What every engine computes for a window: the findings, and the hunt's aggregates behind them. */
export interface WindowEvaluation {
  /** The hunt's per-account aggregates (matching requests), after exclusions. */
  readonly aggregates: Aggregates;
  readonly findings: Finding[];
  /**
   * Per flagged account, the principals behind the detections that fired (the hunt's matching requests,
   * cached-input's requests, token-volume's and anomaly's hours over a limit), most requests first: what
   * suppression compares.
   */
  readonly principals: Map<string, string[]>;
}

interface PrincipalHour {
  readonly accountId: string;
  readonly principal: string;
  readonly hourMs: number;
  tokens: number;
  requests: number;
  readonly sessions: Map<string, number>;
}

interface CachedTotals {
  requestCount: number;
  sumCachedInputTokens: number;
  maxCachedInputTokens: number;
  readonly principals: Map<string, number>;
}

const bump = (map: Map<string, number>, key: string, n: number) => map.set(key, (map.get(key) ?? 0) + n);
const byCount = (a: [string, number], b: [string, number]) =>
  b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/** The heavier of two principal-hours: more tokens, then more requests, then earlier, then by principal. */
const heavier = (a: PrincipalHour, b: PrincipalHour): PrincipalHour =>
  b.tokens !== a.tokens
    ? b.tokens > a.tokens
      ? b
      : a
    : b.requests !== a.requests
      ? b.requests > a.requests
        ? b
        : a
      : b.hourMs !== a.hourMs
        ? b.hourMs < a.hourMs
          ? b
          : a
        : b.principal < a.principal
          ? b
          : a;

type Anomalous = PrincipalHour & { readonly comparison: Comparison };
interface AnomalyTotals {
  worst: Anomalous;
  hoursOver: number;
  readonly principals: Set<string>;
}

/**
 * The principal-hours of a window, cut to it, after exclusions: account -> principal -> hour start -> hour.
 * `kept` receives the groups that count.
 */
function principalHoursOf(
  groups: Iterable<UsageGroup>,
  rule: Rule,
  onKept: (g: UsageGroup, principal: string) => void,
): Map<string, Map<string, Map<number, PrincipalHour>>> {
  const kept = keptPrincipalOf(rule);
  const hours = new Map<string, Map<string, Map<number, PrincipalHour>>>();
  for (const g of groups) {
    const principal = kept(g.accountId, g.identityArn);
    if (principal === null) continue;
    onKept(g, principal);
    let byPrincipal = hours.get(g.accountId);
    if (!byPrincipal) {
      byPrincipal = new Map();
      hours.set(g.accountId, byPrincipal);
    }
    let byHour = byPrincipal.get(principal);
    if (!byHour) {
      byHour = new Map();
      byPrincipal.set(principal, byHour);
    }
    let h = byHour.get(g.hourMs);
    if (!h) {
      h = {
        accountId: g.accountId,
        principal,
        hourMs: g.hourMs,
        tokens: 0,
        requests: 0,
        sessions: new Map(),
      };
      byHour.set(g.hourMs, h);
    }
    h.tokens += totalTokensOf(g);
    h.requests += g.requests;
    bump(h.sessions, g.identityArn ?? principal, g.requests);
  }
  return hours;
}

/**
 * The principals whose history `anomaly` needs: those with an hour of the window above the floor (no other hour
 * can fire), as `{accountId, principal}`, heaviest hour first. The Lambda reads their roll-ups only.
 */
export function anomalyCandidates(
  groups: Iterable<UsageGroup>,
  rule: Rule,
): { accountId: string; principal: string; peakTokens: number }[] {
  const out: { accountId: string; principal: string; peakTokens: number }[] = [];
  for (const [accountId, byPrincipal] of principalHoursOf(groups, rule, () => {})) {
    for (const [principal, byHour] of byPrincipal) {
      let peak = 0;
      for (const h of byHour.values()) peak = Math.max(peak, h.tokens);
      if (peak > rule.anomalyFloorTokens) out.push({ accountId, principal, peakTokens: peak });
    }
  }
  return out.sort(
    (a, b) =>
      b.peakTokens - a.peakTokens ||
      (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0) ||
      (a.principal < b.principal ? -1 : a.principal > b.principal ? 1 : 0),
  );
}

/** A principal's whole-hour totals: its history plus the window's hours. */
function mergedHours(
  history: ReadonlyMap<number, number> | undefined,
  window: ReadonlyMap<number, PrincipalHour>,
): Map<number, number> {
  const merged = new Map(history ?? []);
  for (const [k, h] of window) merged.set(k, (merged.get(k) ?? 0) + h.tokens);
  return merged;
}

/**
 * Every detection over usage groups (any order, any split) for one window. `history`: what the engine knows of
 * the hours before the window, for `anomaly` (none: only the window's own hours count).
 */
export function evaluateUsage(
  groups: Iterable<UsageGroup>,
  rule: Rule,
  window: Window,
  topEvidence = DEFAULT_TOP_EVIDENCE,
  history: History = noHistory(window.startMs),
): WindowEvaluation {
  const hunt: Aggregates = new Map();
  const cached = new Map<string, CachedTotals>();
  /** The groups that count (exclusions applied), for the evidence of accounts the hunt did not flag. */
  const kept: UsageGroup[] = [];
  const hours = principalHoursOf(groups, rule, (g, principal) => {
    kept.push(g);
    const match = matchGroupOf(g);
    if (match) addGroup(hunt, match);
    if (g.cachedInputRequests > 0) {
      const c = cached.get(g.accountId) ?? {
        requestCount: 0,
        sumCachedInputTokens: 0,
        maxCachedInputTokens: 0,
        principals: new Map<string, number>(),
      };
      c.requestCount += g.cachedInputRequests;
      c.sumCachedInputTokens += g.cachedInputTokens;
      c.maxCachedInputTokens = Math.max(c.maxCachedInputTokens, g.maxCachedInputTokens ?? 0);
      bump(c.principals, principal, g.cachedInputRequests);
      cached.set(g.accountId, c);
    }
  });

  const peak = new Map<string, PrincipalHour>();
  const volume = new Map<string, { worst: PrincipalHour; hoursOver: number; principals: Set<string> }>();
  const volumePrincipals = new Map<string, Map<string, number>>();
  for (const h of [...hours.values()].flatMap((p) => [...p.values()].flatMap((hs) => [...hs.values()]))) {
    const before = peak.get(h.accountId);
    peak.set(h.accountId, before ? heavier(before, h) : h);
    if (h.tokens <= rule.tokensPerHour && h.requests <= rule.requestsPerHour) continue;
    const counts = volumePrincipals.get(h.accountId) ?? new Map<string, number>();
    bump(counts, h.principal, h.requests);
    volumePrincipals.set(h.accountId, counts);
    const v = volume.get(h.accountId);
    if (v) {
      v.worst = heavier(v.worst, h);
      v.hoursOver++;
      v.principals.add(h.principal);
    } else volume.set(h.accountId, { worst: h, hoursOver: 1, principals: new Set([h.principal]) });
  }

  const anomalies = new Map<string, AnomalyTotals>();
  const anomalyPrincipals = new Map<string, Map<string, number>>();
  for (const [accountId, byPrincipal] of hours) {
    for (const [principal, byHour] of byPrincipal) {
      let merged: Map<number, number> | undefined;
      const unread = history.unread?.has(principalKey(accountId, principal)) ?? false;
      for (const h of byHour.values()) {
        // No hour at or under the floor can fire: most principals need no history at all.
        if (h.tokens <= rule.anomalyFloorTokens) continue;
        merged ??= mergedHours(history.totals.get(accountId, principal), byHour);
        const comparison = compare(rule, merged, h.hourMs, history.knownFromMs, unread);
        if (h.tokens <= comparison.thresholdTokens) continue;
        const counts = anomalyPrincipals.get(accountId) ?? new Map<string, number>();
        bump(counts, principal, h.requests);
        anomalyPrincipals.set(accountId, counts);
        const a = anomalies.get(accountId);
        const hour: Anomalous = { ...h, comparison };
        if (a) {
          a.worst = heavier(a.worst, hour) === hour ? hour : a.worst;
          a.hoursOver++;
          a.principals.add(principal);
        } else anomalies.set(accountId, { worst: hour, hoursOver: 1, principals: new Set([principal]) });
      }
    }
  }

  const huntFindings = new Map(toFindings(hunt, rule, topEvidence).map((f) => [f.accountId, f]));
  const flagged = new Set([
    ...huntFindings.keys(),
    ...[...cached].filter(([, c]) => c.requestCount >= rule.minRequests).map(([a]) => a),
    ...volume.keys(),
    ...anomalies.keys(),
  ]);
  // Every request of the flagged accounts the hunt did not flag: their evidence.
  const all: Aggregates = new Map();
  const evidenceOnlyAccounts = new Set([...flagged].filter((a) => !huntFindings.has(a)));
  if (evidenceOnlyAccounts.size > 0) {
    for (const g of kept) {
      if (!evidenceOnlyAccounts.has(g.accountId)) continue;
      addGroup(all, {
        accountId: g.accountId,
        identityArn: g.identityArn,
        modelId: g.modelId,
        requestCount: g.requests,
        maxPromptTokens: null,
        maxRequestSize: null,
        maxCompletionTokens: null,
        maxCacheInclusiveInputTokens: null,
        firstSeenMs: g.firstSeenMs,
        lastSeenMs: g.lastSeenMs,
        sumPromptTokens: g.inputTokens,
        sumCompletionTokens: g.outputTokens,
      });
    }
  }
  const findings = [...flagged].map((accountId): Finding => {
    const fromHunt = huntFindings.get(accountId);
    const c = cached.get(accountId);
    const v = volume.get(accountId);
    const a = anomalies.get(accountId);
    const cachedFired = c !== undefined && c.requestCount >= rule.minRequests;
    const detections: DetectionName[] = [];
    if (fromHunt) detections.push("heavy-requests");
    if (cachedFired) detections.push("cached-input");
    if (v) detections.push("token-volume");
    if (a) detections.push("anomaly");
    const base = fromHunt ?? evidenceOnly(all.get(accountId), rule, topEvidence);
    return {
      ...base,
      detections,
      cachedInput:
        cachedFired && c
          ? {
              requestCount: c.requestCount,
              sumCachedInputTokens: c.sumCachedInputTokens,
              maxCachedInputTokens: c.maxCachedInputTokens,
              topPrincipals: [...c.principals]
                .sort(byCount)
                .slice(0, topEvidence)
                .map(([principal, requestCount]) => ({ principal, requestCount })),
            }
          : null,
      tokenVolume: v ? volumeEvidence(v, rule, window, topEvidence) : null,
      anomaly: a ? anomalyEvidence(a, rule, window, topEvidence) : null,
      peakHourTokens: peak.get(accountId)?.tokens ?? 0,
    };
  });
  const principals = new Map<string, string[]>();
  for (const f of findings) {
    const counts = new Map<string, number>();
    if (f.detections.includes("heavy-requests")) {
      for (const [arn, n] of hunt.get(f.accountId)?.identities ?? []) bump(counts, principalOf(arn), n);
    }
    if (f.cachedInput) for (const [p, n] of cached.get(f.accountId)?.principals ?? []) bump(counts, p, n);
    for (const [p, n] of volumePrincipals.get(f.accountId) ?? []) bump(counts, p, n);
    for (const [p, n] of anomalyPrincipals.get(f.accountId) ?? []) bump(counts, p, n);
    principals.set(
      f.accountId,
      [...counts].sort(byCount).map(([p]) => p),
    );
  }
  return { aggregates: hunt, findings: findings.sort(compareAccounts), principals };
}

/** An account the hunt did not flag: its evidence over every request, the hunt's own numbers null. */
function evidenceOnly(aggregate: AccountAggregate | undefined, rule: Rule, topEvidence: number): HuntFinding {
  if (!aggregate) throw new Error("a flagged account has requests");
  const [f] = toFindings(
    new Map([[aggregate.accountId, aggregate]]),
    { ...rule, minRequests: 1 },
    topEvidence,
  );
  if (!f) throw new Error("a flagged account has requests");
  return {
    ...f,
    requestCount: null,
    maxPromptTokens: null,
    maxRequestSize: null,
    maxCompletionTokens: null,
    maxCacheInclusiveInputTokens: null,
  };
}

/**
 * A principal-hour over a limit, as evidence: the hour cut to the window, the detection's own numbers (`own`,
 * after the hour's), and the principal's top sessions in it.
 */
function hourEvidence<T extends object>(
  h: PrincipalHour,
  own: T,
  over: { hoursOver: number; principals: Set<string> },
  window: Window,
  topEvidence: number,
) {
  return {
    principal: h.principal,
    hourStart: new Date(Math.max(h.hourMs, window.startMs)).toISOString(),
    hourEnd: new Date(Math.min(h.hourMs + HOUR_MS, window.endMs)).toISOString(),
    totalTokens: h.tokens,
    requests: h.requests,
    ...own,
    hoursOver: over.hoursOver,
    principalsOver: over.principals.size,
    topSessions: [...h.sessions]
      .sort(byCount)
      .slice(0, topEvidence)
      .map(([identityArn, requestCount]) => ({ identityArn, requestCount })),
  };
}

function volumeEvidence(
  v: { worst: PrincipalHour; hoursOver: number; principals: Set<string> },
  rule: Rule,
  window: Window,
  topEvidence: number,
): TokenVolumeEvidence {
  const h = v.worst;
  const exceeded: ("tokens" | "requests")[] = [];
  if (h.tokens > rule.tokensPerHour) exceeded.push("tokens");
  if (h.requests > rule.requestsPerHour) exceeded.push("requests");
  return hourEvidence(h, { exceeded }, v, window, topEvidence);
}

function anomalyEvidence(a: AnomalyTotals, rule: Rule, window: Window, topEvidence: number): AnomalyEvidence {
  const c = a.worst.comparison;
  const own = {
    baselineTokens: c.baselineTokens,
    thresholdTokens: c.thresholdTokens,
    historyHours: c.historyHours,
    baselineHours: rule.baselineDays * 24,
    activeHours: c.activeHours,
    historyUnread: c.unread,
  };
  return hourEvidence(a.worst, own, a, window, topEvidence);
}

/** Accounts the hunt flags first, in the hunt's order; then by the largest total tokens in one hour, then id. */
export function compareAccounts(
  a: Pick<
    Finding,
    | "accountId"
    | "detections"
    | "peakHourTokens"
    | "maxPromptTokens"
    | "maxRequestSize"
    | "maxCompletionTokens"
  >,
  b: typeof a,
): number {
  const huntA = a.detections.includes("heavy-requests");
  const huntB = b.detections.includes("heavy-requests");
  if (huntA !== huntB) return huntA ? -1 : 1;
  if (huntA) return compareFindings(a, b);
  return (
    b.peakHourTokens - a.peakHourTokens ||
    (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0)
  );
}
