// The file arguments of the benchmark's competitors (bench-duckdb.mjs, bench-gunzip.mjs): paths, or `@<list>` for
// the paths in <list>, one a line (thousands of S3-sized objects would pass the command line's size limit).
import { readFileSync } from "node:fs";

/** @param {string[]} args */
export const filesOf = (args) =>
  args.flatMap((a) =>
    a.startsWith("@") ? readFileSync(a.slice(1), "utf8").split("\n").filter(Boolean) : [a],
  );
