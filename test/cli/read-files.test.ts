import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync, constants as zlibConstants } from "node:zlib";
import { describe, expect, it } from "vitest";
import { InputError } from "../../cli/errors.js";
import { findLogFiles } from "../../cli/find-log-files.js";
import { READ_BYTES } from "../../cli/gzip-inflater.js";
import { BLOCK_BYTES } from "../../cli/line-reader.js";
import { readLogFile } from "../../cli/read-batches.js";
import { type FileItem, MAX_LINE_BYTES, RecordAssembler } from "../../cli/record-assembler.js";
import { readRecord } from "../../core/record-reader.js";
import { pretty, rawRecord, SAMPLES } from "../helpers/records.js";

function assemble(lines: string[]): FileItem[] {
  const a = new RecordAssembler();
  return [...lines.flatMap((l, i) => a.push(l, i + 1)), ...a.end()];
}
/** Assembles while counting the characters handed to the record reader. */
function assembleCounting(lines: string[]): { items: FileItem[]; charsRead: number } {
  let charsRead = 0;
  const a = new RecordAssembler((text) => {
    charsRead += text.length;
    return readRecord(text);
  });
  return { items: [...lines.flatMap((l, i) => a.push(l, i + 1)), ...a.end()], charsRead };
}
const summary = (items: FileItem[]) =>
  items.map((i) => (i.kind === "record" ? `record ${i.record.promptTokens}` : `malformed ${i.line}`));

async function collect(path: string): Promise<FileItem[]> {
  const out: FileItem[] = [];
  for await (const item of readLogFile(path)) out.push(item);
  return out;
}

describe("RecordAssembler", () => {
  it("reads JSON lines, export lines and blank lines", () => {
    const items = assemble([
      rawRecord({ promptTokens: 1 }),
      "",
      `2026-11-19T10:00:00.000Z ${rawRecord({ promptTokens: 2 })}`,
    ]);
    expect(summary(items)).toEqual(["record 1", "record 2"]);
  });

  it("joins a pretty-printed record spread over lines", () => {
    const pretty = JSON.stringify(
      JSON.parse(rawRecord({ promptTokens: 7, body: { a: [1, 2] } })),
      null,
      2,
    ).split("\n");
    expect(
      summary(assemble([rawRecord({ promptTokens: 1 }), ...pretty, rawRecord({ promptTokens: 3 })])),
    ).toEqual(["record 1", "record 7", "record 3"]);
  });

  it("a truncated line loses nothing after it: it is reported and the next records are read", () => {
    const cut = rawRecord({ promptTokens: 1 }).slice(0, 150);
    const items = assemble([
      cut,
      rawRecord({ promptTokens: 2 }),
      "garbage",
      rawRecord({ promptTokens: 3 }),
      cut,
    ]);
    expect(summary(items)).toEqual(["malformed 1", "record 2", "malformed 3", "record 3", "malformed 5"]);
  });

  it("lines of a broken pretty-printed record are its own: reported once, at its first line", () => {
    const items = assemble(["{", '"timestamp": oops', "}", rawRecord({ promptTokens: 4 })]);
    expect(summary(items)).toEqual(["malformed 1", "record 4"]);
  });

  it("joins a record wrapped over lines that do not start with a lone {", () => {
    const wrapped = readFileSync(
      `${SAMPLES}05_zenn_text_delivery_disabled_converse_record.txt`,
      "utf8",
    ).split("\n");
    expect(wrapped[0]?.startsWith('{"timestamp"')).toBe(true);
    expect(summary(assemble([...wrapped, rawRecord({ promptTokens: 3 })]))).toEqual(["record 1", "record 3"]);
  });

  it("a new top-level { ends a record that never closed", () => {
    const pretty = JSON.stringify(JSON.parse(rawRecord({ promptTokens: 9 })), null, 2).split("\n");
    expect(summary(assemble(["{", '  "timestamp": "2026-11-19T12:00:00Z",', ...pretty]))).toEqual([
      "malformed 1",
      "record 9",
    ]);
  });

  it("an unfinished record at the end of the file is reported", () => {
    expect(assemble(["{", '  "a": 1'])).toEqual([
      { kind: "malformed", line: 1, reason: "record is cut off at the end of the file" },
    ]);
  });

  it("stays linear on hostile input: 20,000 lone { lines and 4,000 cut lines, then a record", () => {
    const cut = rawRecord({ promptTokens: 1, body: { p: "x".repeat(300) } }).slice(0, 200);
    const lines = [
      ...Array.from({ length: 20_000 }, () => "{"),
      ...Array.from({ length: 4_000 }, () => cut),
      rawRecord({ promptTokens: 5 }),
    ];
    const { items, charsRead } = assembleCounting(lines);
    // The lone braces are one broken text; each cut line (cut inside a string) costs only itself.
    expect(summary(items).at(-1)).toBe("record 5");
    expect(items.filter((i) => i.kind === "malformed")).toHaveLength(4_000);
    // Every line is read a bounded number of times, however the broken text nests.
    expect(charsRead).toBeLessThanOrEqual(6 * lines.reduce((n, l) => n + l.length + 1, 0));
  });

  it("stays linear when cut text nests deeply: 30,000 lines that each open an array element", () => {
    const lines = [...Array.from({ length: 30_000 }, () => '{"a":['), rawRecord({ promptTokens: 6 })];
    const { items, charsRead } = assembleCounting(lines);
    expect(summary(items)).toEqual(["malformed 1", "record 6"]);
    expect(charsRead).toBeLessThanOrEqual(6 * lines.reduce((n, l) => n + l.length + 1, 0));
  });
});

describe("RecordAssembler: framing after broken text (issue 8)", () => {
  const record = (n: number) =>
    rawRecord({ promptTokens: n, body: { messages: [{ role: "user", content: "hi" }] } });
  const cutInString = rawRecord({ promptTokens: 1, body: { p: "x".repeat(300) } }).slice(0, 250);
  const cutOutsideString =
    '{"timestamp":"2026-11-19T12:00:00Z","accountId":"1","input":{"inputBodyJson":{"messages":[';

  it("a one-line record after a cut line is read, however it is spaced", () => {
    const spaced = JSON.stringify(JSON.parse(record(2)), null, 0)
      .replace(/^\{"/, '{ "')
      .replace(/,"/g, ', "');
    expect(spaced.startsWith('{ "')).toBe(true);
    expect(summary(assemble([cutInString, spaced]))).toEqual(["malformed 1", "record 2"]);
    expect(summary(assemble([cutOutsideString, `   ${spaced}`]))).toEqual(["malformed 1", "record 2"]);
  });

  it("a record pretty-printed without indentation (json.dumps(indent=0)) is one record", () => {
    const withArrays = rawRecord({
      promptTokens: 7,
      bodyText: '{"messages":[{"role":"user","content":[{"text":"a"},{}]}],"tools":[{}]}',
    });
    const lines = pretty(withArrays, 0).split("\n");
    expect(lines.filter((l) => l === "{").length).toBeGreaterThan(2);
    expect(summary(assemble(lines))).toEqual(["record 7"]);
    expect(summary(assemble([record(1), ...lines, record(3)]))).toEqual(["record 1", "record 7", "record 3"]);
  });

  it.each([0, 2, 4])("a record pretty-printed with indent %i after a cut line is read", (indent) => {
    const lines = pretty(record(8), indent, indent === 4 ? "    " : "").split("\n");
    for (const cut of [cutInString, cutOutsideString, "{"]) {
      expect(summary(assemble([cut, ...lines, record(9)])), cut.slice(0, 20)).toEqual([
        "malformed 1",
        "record 8",
        "record 9",
      ]);
      expect(summary(assemble([cut, cut, ...lines])).filter((s) => s.startsWith("record"))).toEqual([
        "record 8",
      ]);
    }
  });

  it("a pretty-printed record after another one cut off part-way is read", () => {
    const whole = pretty(record(4), 2).split("\n");
    const partial = pretty(record(1), 2).split("\n").slice(0, 9);
    expect(summary(assemble([...partial, ...whole]))).toEqual(["malformed 1", "record 4"]);
    const partial0 = pretty(record(1), 0).split("\n").slice(0, 12);
    expect(summary(assemble([...partial0, ...pretty(record(4), 0).split("\n")]))).toEqual([
      "malformed 1",
      "record 4",
    ]);
  });

  it("a record-like object inside a pretty-printed record's body stays part of it", () => {
    const decoy = rawRecord({
      promptTokens: 9500,
      bodyText:
        '{"tools":[{"timestamp":"2026-11-19T12:00:00Z","accountId":"999999999999","input":{"inputTokenCount":1}}]}',
    });
    for (const indent of [0, 2]) {
      const items = assemble(pretty(decoy, indent).split("\n"));
      expect(summary(items)).toEqual(["record 9500"]);
    }
  });
});

describe("readLogFile and findLogFiles on real files", () => {
  const dir = mkdtempSync(join(tmpdir(), "bdd-files-"));
  const lines = [rawRecord({ promptTokens: 1 }), rawRecord({ promptTokens: 2 })].join("\n");

  it("reads gzip by its magic bytes, whatever the file name", async () => {
    writeFileSync(join(dir, "batch.json.gz"), gzipSync(lines));
    writeFileSync(join(dir, "no-extension"), gzipSync(lines));
    expect(summary(await collect(join(dir, "batch.json.gz")))).toEqual(["record 1", "record 2"]);
    expect(summary(await collect(join(dir, "no-extension")))).toEqual(["record 1", "record 2"]);
  });

  it("reports a corrupt gzip file as an input error", async () => {
    const gz = gzipSync(lines);
    writeFileSync(join(dir, "corrupt.gz"), Buffer.concat([gz.subarray(0, 20), Buffer.alloc(50, 7)]));
    await expect(collect(join(dir, "corrupt.gz"))).rejects.toThrow(InputError);
  });

  it("walks directories recursively in order, skipping dotfiles and export permission probes", async () => {
    const tree = mkdtempSync(join(tmpdir(), "bdd-tree-"));
    await mkdir(join(tree, "AWSLogs/1/BedrockModelInvocationLogs/us-east-1/2026/11/19/10"), {
      recursive: true,
    });
    writeFileSync(
      join(tree, "AWSLogs/1/BedrockModelInvocationLogs/us-east-1/2026/11/19/10/b.json.gz"),
      gzipSync(lines),
    );
    writeFileSync(
      join(tree, "AWSLogs/1/BedrockModelInvocationLogs/us-east-1/2026/11/19/10/a.json.gz"),
      gzipSync(lines),
    );
    writeFileSync(join(tree, ".hidden"), "x");
    writeFileSync(join(tree, "aws-logs-write-test"), "Permission Check Successful");
    const files = await findLogFiles([tree]);
    expect(files.files.map((f) => f.path.slice(tree.length))).toEqual([
      "/AWSLogs/1/BedrockModelInvocationLogs/us-east-1/2026/11/19/10/a.json.gz",
      "/AWSLogs/1/BedrockModelInvocationLogs/us-east-1/2026/11/19/10/b.json.gz",
    ]);
    await expect(findLogFiles([join(tree, "missing")])).rejects.toThrow(/missing: no such file or directory/);
  });
});

describe("files of any size against the first block (it is read once, and tells gzip by its magic bytes)", () => {
  const dir = mkdtempSync(join(tmpdir(), "bdd-blocks-"));
  /** Records of about `bytes` of JSON lines; bodies of random letters, so that gzip stays about as large. */
  function recordsOf(bytes: number, seed: number): string[] {
    const out: string[] = [];
    let size = 0;
    let x = seed;
    // xorshift32: letters that gzip cannot shrink much.
    const letter = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return String.fromCharCode(97 + ((x >>> 0) % 26));
    };
    while (size < bytes) {
      const body = { inputText: Array.from({ length: 2000 }, letter).join("") };
      const line = rawRecord({ promptTokens: out.length, body });
      out.push(line);
      size += line.length + 1;
    }
    return out;
  }
  const sizes = [BLOCK_BYTES - 1000, BLOCK_BYTES + 1000, 4 * BLOCK_BYTES + 10];

  it("empty and one-byte files: no records, and not gzip", async () => {
    writeFileSync(join(dir, "empty.jsonl"), "");
    writeFileSync(join(dir, "one-byte"), Buffer.from([0x1f]));
    expect(await collect(join(dir, "empty.jsonl"))).toEqual([]);
    expect(summary(await collect(join(dir, "one-byte")))).toEqual(["malformed 1"]);
  });

  for (const [k, bytes] of sizes.entries())
    it(`JSON lines and gzip of about ${bytes} bytes: every record, in order`, async () => {
      const lines = recordsOf(bytes, k + 1);
      const text = `${lines.join("\n")}\n`;
      writeFileSync(join(dir, `plain-${k}.jsonl`), text);
      const gz = gzipSync(text);
      writeFileSync(join(dir, `packed-${k}.gz`), gz);
      const want = lines.map((_, i) => `record ${i}`);
      expect(summary(await collect(join(dir, `plain-${k}.jsonl`)))).toEqual(want);
      expect(summary(await collect(join(dir, `packed-${k}.gz`)))).toEqual(want);
      // The largest is more than two reads of compressed bytes too.
      if (k === sizes.length - 1) expect(gz.length).toBeGreaterThan(2 * READ_BYTES);
    });
});

describe("awkward files", () => {
  const dir = mkdtempSync(join(tmpdir(), "bdd-awkward-"));
  const two = [rawRecord({ promptTokens: 1 }), rawRecord({ promptTokens: 2 })].join("\n");

  it("a UTF-8 byte-order mark does not cost the first record", async () => {
    writeFileSync(join(dir, "bom.jsonl"), `\uFEFF${two}\r\n`);
    expect(summary(await collect(join(dir, "bom.jsonl")))).toEqual(["record 1", "record 2"]);
  });

  it("a line longer than the cap is reported without being held, and reading goes on", async () => {
    const huge = "a".repeat(MAX_LINE_BYTES + 10);
    writeFileSync(
      join(dir, "long.json.gz"),
      gzipSync(`${rawRecord({ promptTokens: 1 })}\n${huge}\n${rawRecord({ promptTokens: 2 })}`),
    );
    const items = await collect(join(dir, "long.json.gz"));
    expect(summary(items)).toEqual(["record 1", "malformed 2", "record 2"]);
    expect(items[1]).toMatchObject({ reason: "line longer than 16 MB" });
  });

  it("a truncated gzip file: every record before the cut is kept, then the file is reported", async () => {
    const full = gzipSync(
      `${Array.from({ length: 2000 }, (_, i) => rawRecord({ promptTokens: i })).join("\n")}\n`,
    );
    const cut = full.subarray(0, Math.floor(full.length * 0.9));
    writeFileSync(join(dir, "truncated.gz"), cut);
    // What zlib itself can recover from the cut file: the complete lines in it are the records to expect.
    const recoverable = gunzipSync(cut, { finishFlush: zlibConstants.Z_SYNC_FLUSH })
      .toString("utf8")
      .split("\n");
    const completeLines = recoverable.length - 1;
    const items: FileItem[] = [];
    await expect(
      (async () => {
        for await (const item of readLogFile(join(dir, "truncated.gz"))) items.push(item);
      })(),
    ).rejects.toThrow(
      /truncated\.gz: truncated or damaged gzip file: the data ends early \(after line \d+; the lines before it were read\)/,
    );
    expect(items.filter((i) => i.kind === "record")).toHaveLength(completeLines);
    expect(completeLines).toBeGreaterThan(1500);
  });

  it("lists each file once however many paths or links lead to it, and survives link loops and broken links", async () => {
    const tree = mkdtempSync(join(tmpdir(), "bdd-links-"));
    await mkdir(join(tree, "2026"));
    writeFileSync(join(tree, "2026", "a.jsonl"), two);
    symlinkSync(join(tree, "2026"), join(tree, "latest"));
    symlinkSync(tree, join(tree, "2026", "up"));
    symlinkSync(join(tree, "missing"), join(tree, "broken.jsonl"));
    const found = await findLogFiles([tree, join(tree, "2026", "a.jsonl"), join(tree, "latest")]);
    expect(found.files.map((f) => f.path.slice(tree.length))).toEqual(["/2026/a.jsonl"]);
    expect(found.errors).toEqual([`${join(tree, "broken.jsonl")}: no such file or directory`]);
  });

  it("below a linked directory, files have the real paths of their target: each is listed once, with its size", async () => {
    // The walk derives an entry's real path from its directory's, without a realpath each: a file reached first
    // through a link and then by its own path must still be the same file. FIFOs are skipped as before.
    const tree = mkdtempSync(join(tmpdir(), "bdd-derived-"));
    const day = join(tree, "real", "2026", "11");
    await mkdir(day, { recursive: true });
    writeFileSync(join(day, "a.jsonl"), two);
    writeFileSync(join(day, "b.jsonl"), "12345");
    execFileSync("mkfifo", [join(day, "pipe")]);
    symlinkSync(join(tree, "real"), join(tree, "via"));
    // The FIFO given by its own path after the walk met it is skipped as before, not "not a file or directory".
    const found = await findLogFiles([
      join(tree, "via"),
      join(day, "b.jsonl"),
      join(tree, "real"),
      join(day, "pipe"),
    ]);
    expect(found.files.map((f) => [f.path.slice(tree.length), f.size])).toEqual([
      ["/via/2026/11/a.jsonl", Buffer.byteLength(two)],
      ["/via/2026/11/b.jsonl", 5],
    ]);
    expect(found.errors).toEqual([]);
  });
});
