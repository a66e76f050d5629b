/**
 * The synchronous gzip inflater against node:zlib itself, on real files and on byte streams cut in chunks of any
 * size: the same bytes for all valid data (several members, zero padding, any output buffer size), and for
 * broken data (cut short, trailing garbage, a damaged byte) the same error, after the bytes zlib decodes from it.
 * The inputs run one after another in one process, so the engines reset and reused from one to the next (as in
 * a scan) are what these tests check.
 */
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createGunzip, gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunksOf } from "../../cli/byte-chunks.js";
import { fileInput, GzipInflater, streamInput, syncInflateWorks } from "../../cli/gzip-inflater.js";
import { readFileBatches, readLogFile } from "../../cli/read-batches.js";
import { rawRecord } from "../helpers/records.js";

const dir = mkdtempSync(join(tmpdir(), "bdd-inflater-"));
let fileNo = 0;

function writeTemp(bytes: Uint8Array): string {
  const path = join(dir, `f${fileNo++}.gz`);
  writeFileSync(path, bytes);
  return path;
}

/** How the compressed bytes come: read from the file, or as a stream in chunks of this many bytes. */
type Via = "file" | number;
// Chunks of a few bytes: the last test; here they would take long over megabytes of data.
const via: fc.Arbitrary<Via> = fc.oneof(fc.constant("file" as const), fc.integer({ min: 300, max: 300_000 }));

/** A stream of `bytes` in chunks of `chunkBytes`. */
const streamOf = (bytes: Buffer, chunkBytes: number) =>
  Readable.from(
    Array.from({ length: Math.ceil(bytes.length / chunkBytes) }, (_, i) =>
      bytes.subarray(i * chunkBytes, (i + 1) * chunkBytes),
    ),
  );

/**
 * The inflater over `path` (or its bytes as a stream), into output buffers of `outBytes`: its bytes, its error
 * code, and the compressed bytes read (a file's; a stream counts its own).
 */
async function inflateFile(path: string, outBytes: number, how: Via = "file") {
  const fd = openSync(path, "r");
  let compressed = 0;
  const input =
    how === "file"
      ? fileInput(fd, (n) => {
          compressed += n;
        })
      : streamInput(chunksOf(streamOf(readFileSync(path), how)));
  const inflater = GzipInflater.open(input);
  if (inflater === null) throw new Error("no engine");
  const parts: Buffer[] = [];
  try {
    for (;;) {
      const into = Buffer.alloc(outBytes);
      const n = await inflater.read(into);
      if (n === 0) break;
      parts.push(into.subarray(0, n));
    }
  } finally {
    inflater.close();
    closeSync(fd);
  }
  const failure = inflater.failure() as { code?: string } | undefined;
  if (how !== "file") compressed = readFileSync(path).length;
  return { text: Buffer.concat(parts), code: failure?.code, compressed };
}

/** What a node:zlib stream makes of the same bytes: its output and the code of its error, if any. */
function zlibStream(bytes: Uint8Array): Promise<{ text: Buffer; code: string | undefined }> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const gunzip = createGunzip();
    gunzip.on("data", (c: Buffer) => parts.push(c));
    gunzip.on("error", (e: NodeJS.ErrnoException) => resolve({ text: Buffer.concat(parts), code: e.code }));
    gunzip.on("end", () => resolve({ text: Buffer.concat(parts), code: undefined }));
    gunzip.end(bytes);
  });
}

/** Text that compresses like log lines: about 1:5 (several read blocks of 256 KB for the larger members). */
const logText = (seed: number, bytes: number): Buffer => {
  const lines: string[] = [];
  let x = seed >>> 0 || 1;
  let size = 0;
  while (size < bytes) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const line = `{"requestId":"${x.toString(36)}","inputTokenCount":${x % 9000},"pad":"${"ab".repeat(x % 150)}"}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join("").slice(0, bytes));
};

const members = fc.array(
  fc.record({
    seed: fc.nat(),
    bytes: fc.integer({ min: 0, max: 2_000_000 }),
    level: fc.integer({ min: 1, max: 9 }),
  }),
  { minLength: 1, maxLength: 3 },
);
const outBytes = fc.constantFrom(97, 4096, 65_536, 256 * 1024, 1024 * 1024);

describe("GzipInflater", () => {
  it("has zlib's engine on this Node.js (else every gzip file would take the slower stream)", () => {
    expect(syncInflateWorks()).toBe(true);
  });

  it("inflates all valid data exactly as zlib does: several members, zero padding, any buffer or chunk size", async () => {
    await fc.assert(
      fc.asyncProperty(members, fc.nat({ max: 600 }), outBytes, via, async (ms, zeros, out, how) => {
        const texts = ms.map((m) => logText(m.seed, m.bytes));
        const file = Buffer.concat([
          ...ms.map((m, i) => gzipSync(texts[i] as Buffer, { level: m.level })),
          Buffer.alloc(zeros),
        ]);
        const path = writeTemp(file);
        const got = await inflateFile(path, out, how);
        expect(got.code).toBeUndefined();
        expect(got.text.equals(Buffer.concat(texts))).toBe(true);
        expect(got.text.equals((await zlibStream(file)).text)).toBe(true);
        expect(got.compressed).toBe(file.length);
      }),
      { numRuns: 30 },
    );
  }, 120_000);

  it("a broken file gives the stream's error, after the bytes zlib decodes from it", async () => {
    const damage = fc.oneof(
      fc.record({ kind: fc.constant("cut" as const), at: fc.double({ min: 0.05, max: 0.999, noNaN: true }) }),
      fc.record({
        kind: fc.constant("garbage" as const),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }),
      }),
      fc.record({
        kind: fc.constant("flip" as const),
        at: fc.double({ min: 0.01, max: 0.99, noNaN: true }),
        xor: fc.integer({ min: 1, max: 255 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(members, damage, outBytes, via, async (ms, d, out, how) => {
        const texts = Buffer.concat(ms.map((m) => logText(m.seed, m.bytes)));
        const whole = Buffer.concat(ms.map((m) => gzipSync(logText(m.seed, m.bytes), { level: m.level })));
        let file: Buffer;
        if (d.kind === "cut") file = whole.subarray(0, Math.max(10, Math.floor(whole.length * d.at)));
        else if (d.kind === "garbage") {
          // Garbage, not padding or another member: zlib reads zeros as padding and 0x1f as a member's start.
          const tail = Buffer.from(d.bytes.map((b) => (b === 0 || b === 0x1f ? 0x42 : b)));
          file = Buffer.concat([whole, tail]);
        } else {
          file = Buffer.from(whole);
          const at = Math.floor(file.length * d.at);
          file[at] = (file[at] as number) ^ d.xor;
        }
        const got = await inflateFile(writeTemp(file), out, how);
        const stream = await zlibStream(file);
        expect(got.code).toBe(stream.code);
        // The same bytes as zlib decodes, but for how many come before the fault: zlib's output of the write
        // that fails is lost, and a write's size is the output buffer's.
        const [shorter, longer] =
          got.text.length <= stream.text.length ? [got.text, stream.text] : [stream.text, got.text];
        expect(longer.subarray(0, shorter.length).equals(shorter)).toBe(true);
        // Cut short, every byte delivered is the file's own text.
        if (d.kind === "cut") expect(texts.subarray(0, got.text.length).equals(got.text)).toBe(true);
      }),
      { numRuns: 40 },
    );
  }, 120_000);

  it("a truncated file reports zlib's Z_BUF_ERROR, a file that is not gzip Z_DATA_ERROR", async () => {
    const text = logText(7, 400_000);
    const gz = gzipSync(text);
    const cut = await inflateFile(writeTemp(gz.subarray(0, gz.length - 100)), 65_536);
    expect(cut.code).toBe("Z_BUF_ERROR");
    expect(cut.text.length).toBeGreaterThan(300_000);
    expect(text.subarray(0, cut.text.length).equals(cut.text)).toBe(true);
    const notGzip = await inflateFile(
      writeTemp(Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(100, 7)])),
      4096,
    );
    expect(notGzip).toMatchObject({ code: "Z_DATA_ERROR", text: Buffer.alloc(0) });
  });

  it("a read error ends the file with that error, after the bytes inflated before it", async () => {
    const path = writeTemp(gzipSync(logText(3, 1_000_000)));
    const fd = openSync(path, "r");
    const inflater = GzipInflater.open(fileInput(fd)) as GzipInflater;
    const into = Buffer.alloc(65_536);
    expect(await inflater.read(into)).toBe(into.length);
    closeSync(fd);
    let n = 0;
    while ((await inflater.read(into)) > 0) n++;
    // Up to the rest of the first block read: then the closed file fails.
    expect(n).toBeLessThan(30);
    expect((inflater.failure() as NodeJS.ErrnoException).code).toBe("EBADF");
    inflater.close();
  });

  it("counts padding after the data as read, where it crosses a read block (progress ends at the file's size)", async () => {
    const member = (() => {
      // A stored (level 0) member ending 3 bytes before the first 256 KB block's end.
      const text = logText(11, 300_000);
      for (let n = 256 * 1024 - 200; n < 256 * 1024; n++) {
        const g = gzipSync(text.subarray(0, n), { level: 0 });
        if (g.length === 256 * 1024 - 3) return g;
      }
      throw new Error("no member of that size");
    })();
    const file = Buffer.concat([member, Buffer.alloc(50)]);
    const got = await inflateFile(writeTemp(file), 65_536);
    expect(got.code).toBeUndefined();
    expect(got.compressed).toBe(file.length);
  });

  it("a stream in chunks of a few bytes inflates as zlib does, whole and cut short", async () => {
    const text = logText(9, 60_000);
    const gz = Buffer.concat([gzipSync(text.subarray(0, 20_000)), gzipSync(text.subarray(20_000))]);
    for (const chunkBytes of [1, 2, 3, 17]) {
      const whole = await inflateFile(writeTemp(gz), 4096, chunkBytes);
      expect(whole.code).toBeUndefined();
      expect(whole.text.equals(text)).toBe(true);
      const cut = await inflateFile(writeTemp(gz.subarray(0, gz.length - 5)), 4096, chunkBytes);
      expect(cut.code).toBe("Z_BUF_ERROR");
      expect(text.subarray(0, cut.text.length).equals(cut.text)).toBe(true);
    }
  });

  it("a stream that fails ends with its error, after every byte inflated from the chunks before it", async () => {
    const text = logText(5, 600_000);
    const gz = gzipSync(text);
    const half = gz.subarray(0, Math.floor(gz.length / 2));
    const broken = new Error("connection reset");
    async function* chunks() {
      yield half.subarray(0, 1000);
      yield half.subarray(1000);
      throw broken;
    }
    const inflater = GzipInflater.open(streamInput(chunksOf(Readable.from(chunks())))) as GzipInflater;
    const parts: Buffer[] = [];
    for (;;) {
      const into = Buffer.alloc(65_536);
      const n = await inflater.read(into);
      if (n === 0) break;
      parts.push(into.subarray(0, n));
    }
    inflater.close();
    expect(inflater.failure()).toBe(broken);
    const got = Buffer.concat(parts);
    // All that half the data holds (zlib keeps back at most its window and what it has not yet decoded).
    expect(got.length).toBeGreaterThan(text.length / 2 - 40_000);
    expect(text.subarray(0, got.length).equals(got)).toBe(true);
  });
});

describe("gzip files in the reader", () => {
  const records = (n: number, from: number) =>
    Buffer.from(`${Array.from({ length: n }, (_, i) => rawRecord({ promptTokens: from + i })).join("\n")}\n`);
  const tokensOf = async (path: string) => {
    const tokens: unknown[] = [];
    for await (const item of readLogFile(path))
      if (item.kind === "record") tokens.push(item.record.promptTokens);
    return tokens;
  };
  const openFds = () => (process.platform === "linux" ? readdirSync("/proc/self/fd").length : 0);

  it("a file left part-way frees its file and engine: the next file, on the reused engine, reads whole", async () => {
    const first = writeTemp(gzipSync(records(20_000, 0), { level: 1 }));
    const second = writeTemp(gzipSync(records(300, 50_000)));
    const fds = openFds();
    for (let i = 0; i < 5; i++) for await (const _ of readFileBatches(first)) break;
    expect(openFds()).toBe(fds);
    expect(await tokensOf(second)).toEqual(Array.from({ length: 300 }, (_, i) => 50_000 + i));
  });

  it("a file that is not gzip past its magic bytes is reported as such, and the next file reads whole", async () => {
    const bad = writeTemp(Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(100, 7)]));
    const fds = openFds();
    await expect(tokensOf(bad)).rejects.toThrow(/: not a valid gzip file \(after/);
    expect(openFds()).toBe(fds);
    const good = writeTemp(gzipSync(records(10, 7)));
    expect(await tokensOf(good)).toEqual(Array.from({ length: 10 }, (_, i) => 7 + i));
  });
});
