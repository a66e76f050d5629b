/** Ctrl-C for the commands that run queries remotely: they stop what is running there before they exit. */

export interface Interruption {
  readonly signal: AbortSignal;
  /** Stops listening for Ctrl-C. */
  release(): void;
}

/** Interrupted by the caller's signal when given (tests), else by Ctrl-C (SIGINT) until released. */
export function interruption(given?: AbortSignal): Interruption {
  if (given) return { signal: given, release: () => {} };
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once("SIGINT", onSigint);
  return { signal: controller.signal, release: () => process.removeListener("SIGINT", onSigint) };
}
