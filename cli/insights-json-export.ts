/**
 * The Logs Insights console's "Download results (JSON)": an array of objects keyed by field name
 * (`@timestamp`, `@message`, `@logStream`, ...); the record is `@message`.
 */
import { describeJson, isObject, listKeys } from "./export-reader.js";
import type { JsonExportShape } from "./json-export-reader.js";

export const INSIGHTS_JSON: JsonExportShape = {
  key: null,
  message(row) {
    if (!isObject(row)) return { missing: `not an object but ${describeJson(row)}` };
    const m = row["@message"];
    if (typeof m === "string") return { text: m };
    return { missing: m === undefined ? "no @message field" : "@message is not a string" };
  },
  describe(row) {
    if (isObject(row))
      return `a JSON array of objects with the keys ${listKeys(Object.keys(row))} (no @message)`;
    return `a JSON array whose first element is ${describeJson(row)}`;
  },
};
