/**
 * What a run reads from and writes to the state table, in items and bytes (DynamoDB's item size: attribute
 * names plus values), so each run can report its state traffic in its log and metrics.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";

const utf8 = (s: string) => Buffer.byteLength(s, "utf8");

/** DynamoDB's size of a value: strings and binaries by length, numbers by about half their digits plus one. */
function valueBytes(v: AttributeValue): number {
  if (v.S !== undefined) return utf8(v.S);
  if (v.N !== undefined) return Math.ceil(v.N.replace(/^-|\./g, "").length / 2) + 1;
  if (v.B !== undefined) return v.B.length;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS !== undefined) return v.SS.reduce((n, s) => n + utf8(s), 0);
  if (v.NS !== undefined) return v.NS.reduce((n, s) => n + Math.ceil(s.length / 2) + 1, 0);
  if (v.L !== undefined) return 3 + v.L.reduce((n, x) => n + 1 + valueBytes(x), 0);
  if (v.M !== undefined) return 3 + itemBytes(v.M);
  return 0;
}

/** An item's size as DynamoDB counts it. */
export function itemBytes(item: Record<string, AttributeValue>): number {
  let n = 0;
  for (const [name, v] of Object.entries(item)) n += utf8(name) + valueBytes(v);
  return n;
}

export class StateUsage {
  itemsRead = 0;
  bytesRead = 0;
  itemsWritten = 0;
  bytesWritten = 0;

  read(item: Record<string, AttributeValue>): void {
    this.itemsRead++;
    this.bytesRead += itemBytes(item);
  }

  wrote(item: Record<string, AttributeValue>): void {
    this.itemsWritten++;
    this.bytesWritten += itemBytes(item);
  }

  snapshot() {
    return {
      itemsRead: this.itemsRead,
      bytesRead: this.bytesRead,
      itemsWritten: this.itemsWritten,
      bytesWritten: this.bytesWritten,
    };
  }
}
