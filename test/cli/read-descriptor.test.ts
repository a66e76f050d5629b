/**
 * stdin read from its descriptor (readDescriptorBatches) when it is a file or a pipe: the same items and errors
 * as reading the file by its path, from where the descriptor stands, and through a non-blocking pipe whose writer
 * is slower than the reader. Real files, a real FIFO, real gzip.
 */
import { execFileSync } from "node:child_process";
import {
  closeSync,
  createReadStream,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  type Stats,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { readDescriptorBatches, readFileBatches, readSourceBatches } from "../../cli/read-batches.js";
import type { FileItem } from "../../cli/record-assembler.js";
import { stdinSource } from "../../cli/sources.js";
import { rawRecord } from "../helpers/records.js";
import { slowPipe } from "../helpers/slow-pipe.js";

const dir = mkdtempSync(join(tmpdir(), "bdd-descriptor-"));
// Over 1 MB: read in several blocks. A malformed line in the middle, a record pretty-printed over lines.
const records = Array.from({ length: 2500 }, (_, i) =>
  rawRecord({ promptTokens: i + 1, requestId: `r-${i}` }),
);
const text = [
  ...records.slice(0, 1200),
  "not json",
  JSON.stringify(JSON.parse(rawRecord({ promptTokens: 99_999 })), null, 2),
  ...records.slice(1200),
].join("\n");
const plain = join(dir, "all.json");
const gzip = join(dir, "all.json.gz");
writeFileSync(plain, text);
// Two members, as concatenated deliveries are.
writeFileSync(gzip, Buffer.concat([gzipSync(text.slice(0, 500_000)), gzipSync(text.slice(500_000))]));

const summary = (items: FileItem[]) =>
  items.map((i) =>
    i.kind === "record" ? `${i.record.requestId} ${i.record.promptTokens}` : `bad ${i.line}`,
  );

async function collect(batches: AsyncGenerator<FileItem[]>): Promise<{ items: string[]; error?: string }> {
  const items: FileItem[] = [];
  try {
    for await (const batch of batches) items.push(...batch);
  } catch (err) {
    return { items: summary(items), error: String(err) };
  }
  return { items: summary(items) };
}

describe("readDescriptorBatches", () => {
  it.each([
    ["JSON lines", plain],
    ["gzip", gzip],
  ])("%s: the items of reading the file by its path, raw bytes counted", async (_, path) => {
    const expected = await collect(readFileBatches(path));
    expect(expected.items).toHaveLength(2502);
    const fd = openSync(path, "r");
    let bytes = 0;
    try {
      expect(await collect(readDescriptorBatches("stdin", fd, (n) => (bytes += n)))).toEqual(expected);
    } finally {
      closeSync(fd);
    }
    expect(bytes).toBe(statSync(path).size);
  });

  it("reads from where the descriptor stands, not from the file's start", async () => {
    const skip = Buffer.byteLength(`${records.slice(0, 10).join("\n")}\n`);
    const rest = join(dir, "rest.json");
    writeFileSync(rest, readFileSync(plain).subarray(skip));
    const fd = openSync(plain, "r");
    try {
      readSync(fd, Buffer.alloc(skip), 0, skip, null);
      const read = await collect(readDescriptorBatches("stdin", fd));
      expect(read).toEqual(await collect(readFileBatches(rest)));
      expect(read.items[0]).toBe("r-10 11");
    } finally {
      closeSync(fd);
    }
  });

  it("a cut gzip: the items before the cut, then the error a file gives", async () => {
    const cut = join(dir, "cut.json.gz");
    const whole = readFileSync(gzip);
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const expected = await collect(readFileBatches(cut));
    expect(expected.error).toMatch(/truncated or damaged gzip file: the data ends early/);
    const fd = openSync(cut, "r");
    try {
      const read = await collect(readDescriptorBatches("stdin", fd));
      expect(read).toEqual({ ...expected, error: expected.error?.replace(cut, "stdin") });
    } finally {
      closeSync(fd);
    }
  });

  it("a non-blocking pipe whose writer is slower: waits for each write, loses nothing", async () => {
    // Pieces after pauses: the reader finds the pipe empty (EAGAIN) often.
    const { readEnd, written } = slowPipe(join(dir, "slow.fifo"), readFileSync(plain), {
      piece: 16_000,
      pauseMs: 2,
    });
    try {
      const read = await collect(readDescriptorBatches("stdin", readEnd));
      expect(read).toEqual(await collect(readFileBatches(plain)));
    } finally {
      closeSync(readEnd);
      await written.catch(() => undefined);
    }
  });
});

describe("readSourceBatches", () => {
  const opened = () => {
    throw new Error("the stream was opened");
  };

  it("a source with a descriptor is read from it, not through its stream", async () => {
    const fd = openSync(gzip, "r");
    try {
      const read = await collect(
        readSourceBatches({ name: "stdin", size: null, parallel: false, fd, open: opened }),
      );
      expect(read).toEqual(await collect(readFileBatches(gzip)));
    } finally {
      closeSync(fd);
    }
  });

  it("a local file by its path; anything else through its stream", async () => {
    const expected = await collect(readFileBatches(plain));
    const file = { name: plain, size: null, parallel: false, path: plain, open: opened };
    expect(await collect(readSourceBatches(file))).toEqual(expected);
    const stream = { name: plain, size: null, parallel: true, open: () => createReadStream(plain) };
    expect(await collect(readSourceBatches(stream))).toEqual(expected);
  });
});

describe("stdinSource", () => {
  const fifo = join(dir, "kind.fifo");
  execFileSync("mkfifo", [fifo]);

  it.each([
    ["a file", plain],
    ["a pipe", fifo],
  ])("stdin on %s is read from its descriptor", (_, path) => {
    expect(stdinSource(() => statSync(path)).fd).toBe(0);
  });

  it("anything else (a socket, a terminal), or a descriptor that cannot be looked at, is read as a stream", () => {
    const socket = { ...statSync(dir), isFile: () => false, isFIFO: () => false } as Stats;
    expect(stdinSource(() => socket).fd).toBeUndefined();
    const missing = () => {
      throw new Error("EBADF");
    };
    expect(stdinSource(missing).fd).toBeUndefined();
  });
});
