/**
 * An empty array already of V8's generic elements kind. A new `[]` holds small integers only until its first
 * push of anything else changes its kind; where the same code fills many short-lived arrays (a reader's items, a
 * part's records), optimized code that met both kinds was thrown away and compiled again, on every thread.
 */
export function genericArray<T>(): T[] {
  const array: unknown[] = [undefined];
  array.pop();
  return array as T[];
}
