import { availableParallelism } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { defaultThreads, scanThreads } from "../../cli/scan-threads.js";

describe("scan threads", () => {
  const before = process.env.BDD_THREADS;
  afterEach(() => {
    if (before === undefined) delete process.env.BDD_THREADS;
    else process.env.BDD_THREADS = before;
  });

  it("one per core from three cores up, one on one or two cores", () => {
    expect([1, 2, 3, 4, 16].map(defaultThreads)).toEqual([1, 1, 3, 4, 16]);
  });

  it("BDD_THREADS sets the number; anything but a positive integer leaves the default", () => {
    process.env.BDD_THREADS = "7";
    expect(scanThreads()).toBe(7);
    for (const bad of ["0", "-2", "1.5", "many", ""]) {
      process.env.BDD_THREADS = bad;
      expect(scanThreads()).toBe(defaultThreads(availableParallelism()));
    }
  });
});
