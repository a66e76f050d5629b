/**
 * The walk where a directory's typed read fails. On a file system that gives no entry types, Node.js lstat's each
 * entry itself, and an entry removed meanwhile (a sync still running) fails the whole read. That race cannot be
 * made on demand, so the typed read of one directory is made to fail here, the rest of node:fs being real.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const readdirSync = ((path: string, options?: { withFileTypes?: boolean }) => {
    const name = String(path);
    if (name.endsWith("unreadable"))
      throw Object.assign(new Error("EACCES: permission denied, scandir"), { code: "EACCES" });
    if (options?.withFileTypes && name.endsWith("untyped"))
      throw Object.assign(new Error("ENOENT: no such file or directory, lstat 'gone.jsonl'"), {
        code: "ENOENT",
      });
    return fs.readdirSync(path, options as never);
  }) as typeof fs.readdirSync;
  return { ...fs, default: { ...fs, readdirSync }, readdirSync };
});

const { findLogFiles } = await import("../../cli/find-log-files.js");

describe("findLogFiles when a directory's typed read fails", () => {
  it("lists its files by name instead, in the same order, and loses none", async () => {
    const tree = mkdtempSync(join(tmpdir(), "bdd-untyped-"));
    const dir = join(tree, "untyped");
    mkdirSync(join(dir, "11"), { recursive: true });
    writeFileSync(join(dir, "b.jsonl"), "123");
    writeFileSync(join(dir, "a.jsonl"), "12");
    writeFileSync(join(dir, ".hidden"), "x");
    writeFileSync(join(dir, "11", "c.jsonl"), "1");
    const found = await findLogFiles([tree]);
    expect(found.files.map((f) => [f.path.slice(tree.length), f.size])).toEqual([
      ["/untyped/11/c.jsonl", 1],
      ["/untyped/a.jsonl", 2],
      ["/untyped/b.jsonl", 3],
    ]);
    expect(found.errors).toEqual([]);
  });

  it("reports a directory that cannot be read either way, as before: below the paths given, and given", async () => {
    const tree = mkdtempSync(join(tmpdir(), "bdd-untyped-"));
    mkdirSync(join(tree, "unreadable"));
    writeFileSync(join(tree, "a.jsonl"), "12");
    const found = await findLogFiles([tree]);
    expect(found.files.map((f) => f.path.slice(tree.length))).toEqual(["/a.jsonl"]);
    expect(found.errors).toEqual([`${join(tree, "unreadable")}: permission denied`]);
    await expect(findLogFiles([join(tree, "unreadable")])).rejects.toThrow(/unreadable: permission denied/);
  });
});
