/**
 * Where this Node.js lacks zlib's synchronous engine (gzip-inflater.ts checks), gzip files and byte streams
 * (stdin, S3 objects) are read by a node:zlib stream instead: the same records, and the same report of a cut.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { describe, expect, it, vi } from "vitest";
import { readLogBatches, readLogFile } from "../../cli/read-batches.js";
import type { FileItem } from "../../cli/record-assembler.js";
import { rawRecord } from "../helpers/records.js";

// The engine is missing (open gives null); the rest of the module, its input buffers included, is the real one.
vi.mock(import("../../cli/gzip-inflater.js"), async (importOriginal) => {
  const actual = await importOriginal();
  const missing = { open: () => null } as unknown as typeof actual.GzipInflater;
  return { ...actual, GzipInflater: missing };
});

async function read(path: string) {
  const items: FileItem[] = [];
  let error: unknown;
  try {
    for await (const item of readLogFile(path)) items.push(item);
  } catch (err) {
    error = err;
  }
  return { tokens: items.map((i) => (i.kind === "record" ? i.record.promptTokens : -1)), error };
}

describe("gzip without zlib's synchronous engine", () => {
  const dir = mkdtempSync(join(tmpdir(), "bdd-gzip-fallback-"));
  const lines = Array.from({ length: 3000 }, (_, i) => rawRecord({ promptTokens: i }));
  const gz = gzipSync(`${lines.join("\n")}\n`);

  it("reads every record through a stream", async () => {
    writeFileSync(join(dir, "whole.gz"), gz);
    const { tokens, error } = await read(join(dir, "whole.gz"));
    expect(error).toBeUndefined();
    expect(tokens).toEqual(lines.map((_, i) => i));
  });

  it("keeps the records before a cut and reports it", async () => {
    writeFileSync(join(dir, "cut.gz"), gz.subarray(0, Math.floor(gz.length / 2)));
    const { tokens, error } = await read(join(dir, "cut.gz"));
    expect(String(error)).toMatch(/cut\.gz: truncated or damaged gzip file: the data ends early/);
    // The records in file order, and at most the cut line as a malformed one.
    const records = tokens.filter((t) => t !== null && t >= 0);
    expect(records.length).toBeGreaterThan(1000);
    expect(records).toEqual(records.map((_, i) => i));
    expect(tokens.length - records.length).toBeLessThanOrEqual(1);
  });

  it("reads every record of a gzip byte stream, as from stdin or S3", async () => {
    const tokens: number[] = [];
    const chunks = Array.from({ length: Math.ceil(gz.length / 5000) }, (_, i) =>
      gz.subarray(i * 5000, (i + 1) * 5000),
    );
    for await (const batch of readLogBatches("stdin", Readable.from(chunks)))
      for (const item of batch) tokens.push(item.kind === "record" ? (item.record.promptTokens ?? -1) : -1);
    expect(tokens).toEqual(lines.map((_, i) => i));
  });
});
