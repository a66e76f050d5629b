/**
 * Worker thread of the parallel scanner (see parallel-scan.ts): runs the parts it is sent (scan-part.ts) and
 * posts their results back; evaluates its account shard from the records the main thread routes to it, in file
 * order, and posts the shard's findings at the end.
 */
import { parentPort } from "node:worker_threads";
import { RuleEvaluator } from "../core/record-evaluator.js";
import { compactBuffers } from "./compact-records.js";
import { runPart } from "./scan-part.js";
import {
  type PartJob,
  shardStats,
  type WorkerInput,
  type WorkerMessage,
  type WorkerSetup,
} from "./scan-part-types.js";
import { applyShardPart } from "./shard-part.js";

/** Sent before any part (scan-threads.ts starts workers before the scan's window is known). */
let setup: WorkerSetup | undefined;
/** This worker's account shard (account-shards.ts), evaluated here from the records the main thread routes. */
let shard: RuleEvaluator | undefined;

/** Runs one part and posts its result, or why it failed. */
async function runAndPost(job: PartJob): Promise<void> {
  try {
    if (setup === undefined) throw new Error("a part came before the scan's setup");
    const output = await runPart(job, setup);
    const answer: WorkerMessage = { output };
    // The records' typed arrays are moved rather than copied (compact-records.ts).
    parentPort?.postMessage(
      answer,
      output.shards.flatMap((p) => compactBuffers(p.inWindow)),
    );
  } catch (err) {
    parentPort?.postMessage({ id: job.id, crash: err instanceof Error ? err.stack : String(err) });
  }
}

// Parts are run one after another, in the order they came: the pool matches the answers to them by order.
let previous: Promise<void> = Promise.resolve();
parentPort?.on("message", (input: WorkerInput) => {
  if ("setup" in input) {
    setup = input.setup;
    if (setup.shards > 1) shard = new RuleEvaluator(setup.rule, setup.window);
  } else if ("apply" in input) {
    // Thrown, not skipped: the pool fails the scan (its 'error' event) rather than losing records.
    if (!shard) throw new Error("records came before the scan's setup");
    applyShardPart(shard, input.apply);
  } else if ("finish" in input) {
    if (!shard) throw new Error("finish came before the scan's setup");
    // The earliest record of every shard: how far back anomaly's history reaches is the scan's, not the shard's.
    shard.countFiltered(0, 0, 0, input.finish.firstMs);
    const { stats } = shard;
    const evaluation: WorkerMessage = {
      evaluation: { findings: shard.findings(), stats: shardStats(stats) },
    };
    parentPort?.postMessage(evaluation);
  } else previous = previous.then(() => runAndPost(input));
});

// Loaded: the pool sends the rest of this worker's parts from now on (one may have come while it loaded).
const ready: WorkerMessage = { ready: true };
parentPort?.postMessage(ready);
