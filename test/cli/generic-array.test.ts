import { setFlagsFromString } from "node:v8";
import { describe, expect, it } from "vitest";
import { RecordEncoder } from "../../cli/compact-records.js";
import { genericArray } from "../../cli/generic-array.js";
import { LineReader } from "../../cli/line-reader.js";

// V8's own view of an array's elements kind: functions compiled after this flag may use its % functions.
setFlagsFromString("--allow-natives-syntax");
const smiOnly = new Function("a", "return %HasSmiElements(a)") as (a: unknown[]) => boolean;
const generic = new Function("a", "return %HasObjectElements(a)") as (a: unknown[]) => boolean;

describe("genericArray", () => {
  it("is an empty array of the generic elements kind, where a new [] holds small integers only", () => {
    expect(smiOnly([])).toBe(true);
    const a = genericArray<string>();
    expect(a).toEqual([]);
    expect(smiOnly(a)).toBe(false);
    expect(generic(a)).toBe(true);
    a.push("x");
    expect(a).toEqual(["x"]);
  });

  it("holds the arrays that each part and each reader fill anew", () => {
    const encoded = new RecordEncoder().finish();
    for (const list of [encoded.strings, encoded.timestamps, encoded.requestIds])
      expect(generic(list)).toBe(true);
    const reader = new LineReader({ base: 0, skipFirstLine: false, stopAt: Number.POSITIVE_INFINITY });
    try {
      expect(generic(reader.items)).toBe(true);
    } finally {
      reader.close();
    }
  });
});
