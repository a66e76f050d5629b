/** Batch sends with per-entry results, shared by the EventBridge and Security Hub adapters. */

/** One entry the service did not accept, by its index in the caller's list. */
export interface EntryFailure {
  readonly index: number;
  readonly code: string;
  readonly message: string;
}

export interface BatchOutcome {
  readonly sent: number;
  readonly failed: readonly EntryFailure[];
}

/** Entry-level error codes worth sending again (throttling and service-side faults). */
const RETRYABLE = /throttl|internal|unavailable|timeout/i;

/**
 * Sends `entries` in batches of `size`. `sendBatch` returns the failures by position in its batch; a batch
 * that throws (after the SDK's own retries) fails all its entries with the error's name. Entries that failed
 * with a retryable code are sent again, up to `retries` times, after a backoff. Never throws.
 */
export async function sendInBatches<T>(
  entries: readonly T[],
  size: number,
  sendBatch: (batch: readonly T[]) => Promise<{ position: number; code: string; message: string }[]>,
  opts: { sleep(ms: number): Promise<void>; retries?: number; backoffMs?: number },
): Promise<BatchOutcome> {
  let pending = entries.map((_, i) => i);
  let failed: EntryFailure[] = [];
  const retries = opts.retries ?? 2;
  for (let attempt = 0; attempt <= retries && pending.length > 0; attempt++) {
    if (attempt > 0) await opts.sleep((opts.backoffMs ?? 250) * 2 ** (attempt - 1));
    failed = [];
    for (let at = 0; at < pending.length; at += size) {
      const indices = pending.slice(at, at + size);
      try {
        const fails = await sendBatch(indices.map((i) => entries[i] as T));
        for (const f of fails) {
          const index = indices[f.position];
          if (index !== undefined) failed.push({ index, code: f.code, message: f.message });
        }
      } catch (err) {
        const e = err as Error;
        for (const index of indices) failed.push({ index, code: e.name, message: e.message });
      }
    }
    pending = failed.filter((f) => RETRYABLE.test(f.code)).map((f) => f.index);
  }
  return { sent: entries.length - failed.length, failed: failed.sort((a, b) => a.index - b.index) };
}
