/**
 * Accounts split between the parallel scanner's threads (parallel-scan.ts): every detection, and telling copies
 * apart, looks at one account at a time, so each thread can evaluate the accounts of its shard on its own and
 * the findings of all shards together are exactly those of one evaluation.
 */

/** The shard of an account: FNV-1a of its id, modulo the number of shards. */
export function shardOf(accountId: string, shards: number): number {
  if (shards === 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < accountId.length; i++) {
    h ^= accountId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}
