/**
 * What an Athena query costs: the one place its list price lives (engine v3 SQL queries, as the project's AWS facts
 * state it). This is an estimate: the bill is Athena's. The CLI reports the running cost with it, and docs/engines.md's examples use the same figures.
 */

/** The list price in US dollars per TB scanned. */
export const ATHENA_USD_PER_TB = 5;
/** When the price above was taken from the Athena pricing page (list price, most Regions). */
export const ATHENA_PRICE_AS_OF = "2026";
/** Bytes in the units Athena bills in: scanned bytes are rounded up to whole MB, at least 10 MB per query. */
export const MB = 2 ** 20;
export const TB = 2 ** 40;
export const ATHENA_MIN_BILLED_BYTES = 10 * MB;

/** The bytes a query is billed for: rounded up to a whole MB, at least the per-query minimum. */
export function athenaBilledBytes(scannedBytes: number): number {
  return Math.max(ATHENA_MIN_BILLED_BYTES, Math.ceil(scannedBytes / MB) * MB);
}

/** The list-price cost of a query that scanned `scannedBytes`, in US dollars. */
export function athenaQueryCostUsd(scannedBytes: number): number {
  return (athenaBilledBytes(scannedBytes) / TB) * ATHENA_USD_PER_TB;
}
