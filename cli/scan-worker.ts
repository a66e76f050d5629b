/**
 * Worker thread of the parallel scanner (see parallel-scan.ts): runs the parts it is sent (scan-part.ts) and
 * posts their results back.
 */
import { parentPort, workerData } from "node:worker_threads";
import { compactBuffers, encodeRecords } from "./compact-records.js";
import { runPart } from "./scan-part.js";
import type { PartJob, PostedPart, WorkerMessage, WorkerSetup } from "./scan-part-types.js";

const setup = workerData as WorkerSetup;

// Parts are run one after another, in the order they came: the pool matches the answers to them by order.
let previous: Promise<void> = Promise.resolve();
parentPort?.on("message", (job: PartJob) => {
  previous = previous.then(() =>
    runPart(job, setup)
      .then((result) => {
        // The records compact, their typed arrays moved rather than copied (see scan-part.ts).
        const inWindow = encodeRecords(result.inWindow);
        const posted: PostedPart = { ...result, inWindow };
        parentPort?.postMessage(posted, compactBuffers(inWindow));
      })
      .catch((err: unknown) =>
        parentPort?.postMessage({ id: job.id, crash: err instanceof Error ? err.stack : String(err) }),
      ),
  );
});

// Loaded: the pool sends parts from now on (the main thread reads them until then).
const ready: WorkerMessage = { ready: true };
parentPort?.postMessage(ready);
