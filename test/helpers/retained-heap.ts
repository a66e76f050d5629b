/**
 * Run with `node --expose-gc --import tsx`: reads `count` matching records of about `kb` KB each, each with
 * its own account and requestId, into one evaluator, drops the texts, and prints how much heap stays in use.
 */

import { DEFAULT_RULE } from "../../config/rule-settings.js";
import { RuleEvaluator } from "../../core/record-evaluator.js";
import { readRecord } from "../../core/record-reader.js";
import { rawRecord } from "./records.js";

const [count, kb, kind] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");
const evaluator = new RuleEvaluator(DEFAULT_RULE, { startMs: 0, endMs: Date.parse("2030-01-01T00:00:00Z") });
gc();
const before = process.memoryUsage().heapUsed;
for (let i = 0; i < Number(count); i++) {
  const requestId = kind === "uuid" ? crypto.randomUUID() : `req-${i}-${"n".repeat(20)}`;
  const body = { prompt: `${i} ${"lorem ipsum ".repeat((Number(kb) * 1024) / 12)}` };
  const r = readRecord(
    rawRecord({ requestId, promptTokens: 9_001, body, accountId: String(100000000000 + i) }),
  );
  if (r.ok) evaluator.add(r.record);
}
gc();
console.log(JSON.stringify({ retained: process.memoryUsage().heapUsed - before, stats: evaluator.stats }));
