/**
 * A part's records of one account shard added to the shard's evaluator (parallel-scan.ts): the records in the
 * window one object at a time (each is garbage at once, never copied by a collection), then anomaly's history.
 */
import type { RuleEvaluator } from "../core/record-evaluator.js";
import { recordAt, recordCount } from "./compact-records.js";
import type { ShardPart } from "./scan-part-types.js";

export function applyShardPart(evaluator: RuleEvaluator, part: ShardPart): void {
  const n = recordCount(part.inWindow);
  for (let i = 0; i < n; i++) evaluator.addInWindow(recordAt(part.inWindow, i));
  const h = part.history;
  for (let i = 0; i < h.tokens.length; i++) {
    evaluator.addHistory(
      h.accountIds[i] as string,
      h.identityArns[i] ?? null,
      h.hourMs[i] as number,
      h.tokens[i] as number,
    );
  }
}
