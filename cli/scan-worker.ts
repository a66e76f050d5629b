/**
 * Worker thread of the parallel scanner (see parallel-scan.ts): runs the parts it is sent (scan-part.ts) and
 * posts their results back.
 */
import { parentPort } from "node:worker_threads";
import { compactBuffers, encodeRecords } from "./compact-records.js";
import { runPart } from "./scan-part.js";
import type { PartJob, PostedPart, WorkerInput, WorkerMessage, WorkerSetup } from "./scan-part-types.js";

/** Sent before any part (scan-threads.ts starts workers before the scan's window is known). */
let setup: WorkerSetup | undefined;

/** Runs one part and posts its result, or why it failed. */
async function runAndPost(job: PartJob): Promise<void> {
  try {
    if (setup === undefined) throw new Error("a part came before the scan's setup");
    const results: PostedPart[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const result of await runPart(job, setup)) {
      // The records compact, their typed arrays moved rather than copied (compact-records.ts).
      const inWindow = encodeRecords(result.inWindow);
      results.push({ ...result, inWindow });
      transfer.push(...compactBuffers(inWindow));
    }
    const answer: WorkerMessage = { results };
    parentPort?.postMessage(answer, transfer);
  } catch (err) {
    parentPort?.postMessage({ id: job.id, crash: err instanceof Error ? err.stack : String(err) });
  }
}

// Parts are run one after another, in the order they came: the pool matches the answers to them by order.
let previous: Promise<void> = Promise.resolve();
parentPort?.on("message", (input: WorkerInput) => {
  if ("setup" in input) setup = input.setup;
  else previous = previous.then(() => runAndPost(input));
});

// Loaded: the pool sends parts from now on (the main thread reads them until then).
const ready: WorkerMessage = { ready: true };
parentPort?.postMessage(ready);
