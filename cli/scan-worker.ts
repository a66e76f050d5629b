/**
 * Worker thread of the parallel scanner (see parallel-scan.ts): runs the parts it is sent (scan-part.ts) and
 * posts their results back.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { PartJob, WorkerSetup } from "./parallel-scan.js";
import { runPart } from "./scan-part.js";

const { window } = workerData as WorkerSetup;

// Parts are run one after another, in the order they came: the pool matches the answers to them by order.
let previous: Promise<void> = Promise.resolve();
parentPort?.on("message", (job: PartJob) => {
  previous = previous.then(() =>
    runPart(job, window).then(
      (result) => parentPort?.postMessage(result),
      (err: unknown) =>
        parentPort?.postMessage({ id: job.id, crash: err instanceof Error ? err.stack : String(err) }),
    ),
  );
});
