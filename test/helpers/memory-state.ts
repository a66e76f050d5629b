/**
 * The state table's slices and anomaly history in memory, with the adapters' semantics (slices read by their
 * end inside `(start, end]`, roll-ups by principal and hour, an index of hours): for property tests that run
 * thousands of scheduled runs. The adapters themselves are tested against dynalite.
 */
import { hourlyTotalsOf } from "../../core/anomaly.js";
import type { InvocationRecord } from "../../core/record-reader.js";
import { HOUR_MS, type Rule, type Window } from "../../core/rule.js";
import { cellKey } from "../../core/slices.js";
import { usageOfRecord } from "../../core/usage.js";
import type { PrincipalHourTotal } from "../../lambda/adapters/history-store.js";
import type { StoredSlice } from "../../lambda/adapters/slice-store.js";
import type { HistoryDeps } from "../../lambda/anomaly-history.js";

export function memoryState() {
  const slices = new Map<string, StoredSlice>();
  const hours = new Map<string, Map<number, number>>();
  let index = new Set<number>();
  const key = (accountId: string, principal: string) => `${accountId}\u0000${principal}`;
  const history: HistoryDeps = {
    readIndex: async () => new Set(index),
    writeIndex: async (h) => {
      index = new Set(h);
    },
    writeHours: async (totals: readonly PrincipalHourTotal[]) => {
      for (const t of totals) {
        const k = key(t.accountId, t.principal);
        const m = hours.get(k) ?? new Map<number, number>();
        m.set(t.hourMs, t.tokens);
        hours.set(k, m);
      }
    },
    readPrincipals: async (principals, fromMs, toMs) =>
      principals.map(
        (p) =>
          new Map(
            [...(hours.get(key(p.accountId, p.principal)) ?? [])].filter(([h]) => h >= fromMs && h < toMs),
          ),
      ),
  };
  return {
    slices: {
      read: async (w: Window) =>
        [...slices.values()].filter((s) => s.window.endMs > w.startMs && s.window.endMs <= w.endMs),
      write: async (s: StoredSlice) => {
        slices.set(cellKey(s.window), s);
      },
    },
    history,
    /** Hours rolled up so far. */
    index: () => index,
    /** Rolls up every hour of `span` from `records`, as scheduled runs would have (the rule's exclusions applied). */
    async rollUp(records: readonly InvocationRecord[], rule: Rule, span: Window) {
      const inSpan = records.filter((r) => r.timestampMs >= span.startMs && r.timestampMs < span.endMs);
      const totals = hourlyTotalsOf(
        inSpan.map((r) => usageOfRecord(r, null, rule.cachedInputTokens)),
        rule,
      );
      await history.writeHours([...totals.entries()], () => span.endMs);
      for (let h = span.startMs; h < span.endMs; h += HOUR_MS) index.add(h);
    },
  };
}
