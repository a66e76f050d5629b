import { mkdtempSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { type FileItem, findLogFiles, InputError, RecordAssembler, readLogFile } from "../cli/log-files.js";
import { rawRecord } from "./helpers/records.js";

function assemble(lines: string[]): FileItem[] {
  const a = new RecordAssembler();
  return [...lines.flatMap((l, i) => a.push(l, i + 1)), ...a.end()];
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

  it("re-reads held lines when the held text turns out malformed", () => {
    const items = assemble(["{", '"timestamp": oops }', rawRecord({ promptTokens: 4 }).replace(/\}$/, "} ")]);
    expect(summary(items)).toEqual(["malformed 1", "malformed 2", "record 4"]);
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
    expect(files.map((f) => f.path.slice(tree.length))).toEqual([
      "/AWSLogs/1/BedrockModelInvocationLogs/us-east-1/2026/11/19/10/a.json.gz",
      "/AWSLogs/1/BedrockModelInvocationLogs/us-east-1/2026/11/19/10/b.json.gz",
    ]);
    await expect(findLogFiles([join(tree, "missing")])).rejects.toThrow(/missing: no such file or directory/);
  });
});
