/**
 * Worker thread of the parallel scanner (see parallel-scan.ts): runs the parts it is sent (scan-part.ts), posts
 * the keys of their records in the window and holds the records (compact) until the main thread, which tells
 * copies apart in file order, says which are copies; then adds them to usage groups and posts those. The
 * per-record work of every detection is thus done here, in parallel, not on the main thread.
 */
import { parentPort, workerData } from "node:worker_threads";
import { fresh } from "../core/evaluator.js";
import { RuleEvaluator, requestKeyOf } from "../core/record-evaluator.js";
import type { InvocationRecord } from "../core/record-reader.js";
import { type CompactRecords, decodeRecords, encodeRecords } from "./compact-records.js";
import { runPart } from "./scan-part.js";
import type {
  AddedPart,
  PartKeys,
  PostedPart,
  WorkerJob,
  WorkerMessage,
  WorkerSetup,
} from "./scan-part-types.js";

const setup = workerData as WorkerSetup;
/** Matches, exclusions and usage groups as the main thread's evaluator has them (same rule and window). */
const evaluator = new RuleEvaluator(setup.rule, setup.window);
/**
 * Records of parts posted and not yet added, compact, their strings flat copies (the reader's are slices of
 * the record's text) and without their texts: memory per part is a few numbers a record.
 */
const held = new Map<number, CompactRecords>();

function keysOf(records: readonly InvocationRecord[]): PartKeys {
  const n = records.length;
  const accounts: string[] = [];
  const accountIndex = new Map<string, number>();
  const accountRefs = new Int32Array(n);
  const keys: (string | null)[] = new Array(n);
  const uuid = new Uint8Array(n);
  const matching = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = records[i] as InvocationRecord;
    let a = accountIndex.get(r.accountId);
    if (a === undefined) {
      a = accounts.length;
      accounts.push(r.accountId);
      accountIndex.set(r.accountId, a);
    }
    accountRefs[i] = a;
    const id = requestKeyOf(r.requestId);
    keys[i] = id?.key ?? null;
    uuid[i] = id?.uuid ? 1 : 0;
    matching[i] = evaluator.matching(r) ? 1 : 0;
  }
  return { accounts, accountRefs, keys, uuid, matching };
}

const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []) =>
  parentPort?.postMessage(message, transfer);

async function run(job: WorkerJob): Promise<void> {
  if (job.kind === "add" || job.kind === "drop") {
    const compact = held.get(job.part);
    held.delete(job.part);
    if (job.kind === "add" && compact !== undefined) {
      const records = decodeRecords(compact);
      for (let i = 0; i < records.length; i++) {
        const r = records[i] as InvocationRecord;
        evaluator.addClassified(r, evaluator.matching(r), job.flags[i] as number);
      }
    }
    const added: AddedPart = { id: job.id, ...evaluator.takeUsage() };
    post(added);
    return;
  }
  const { inWindow, ...result } = await runPart(job, setup);
  const keys = keysOf(inWindow);
  if (inWindow.length > 0) {
    const compact = encodeRecords(inWindow);
    held.set(job.id, { ...compact, strings: compact.strings.map(fresh), timestamps: [], requestIds: [] });
  }
  const posted: PostedPart = { ...result, keys };
  post(posted, [keys.accountRefs.buffer, keys.uuid.buffer, keys.matching.buffer] as ArrayBuffer[]);
}

// Jobs are run one after another, in the order they came: the pool matches the answers to them by order.
let previous: Promise<void> = Promise.resolve();
parentPort?.on("message", (job: WorkerJob) => {
  previous = previous.then(() =>
    run(job).catch((err: unknown) =>
      post({ id: job.id, crash: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    ),
  );
});

// Loaded: the pool sends parts from now on (the main thread reads them until then).
post({ ready: true });
