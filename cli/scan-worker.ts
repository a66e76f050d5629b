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
async function answer(job: PartJob): Promise<void> {
  try {
    if (setup === undefined) throw new Error("a part came before the scan's setup");
    const result = await runPart(job, setup);
    // The records compact, their typed arrays moved rather than copied (see scan-part.ts).
    const inWindow = encodeRecords(result.inWindow);
    const posted: PostedPart = { ...result, inWindow };
    parentPort?.postMessage(posted, compactBuffers(inWindow));
  } catch (err) {
    parentPort?.postMessage({ id: job.id, crash: err instanceof Error ? err.stack : String(err) });
  }
}

// Parts are run one after another, in the order they came: the pool matches the answers to them by order.
let previous: Promise<void> = Promise.resolve();
parentPort?.on("message", (input: WorkerInput) => {
  if ("setup" in input) setup = input.setup;
  else previous = previous.then(() => answer(input));
});

// Loaded: the pool sends parts from now on (the main thread reads them until then).
const ready: WorkerMessage = { ready: true };
parentPort?.postMessage(ready);
