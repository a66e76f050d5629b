/**
 * `aws logs filter-log-events` output (also `get-log-events`): `{"events": [{"logStreamName", "timestamp",
 * "message", "ingestionTime", "eventId"}, ...], "searchedLogStreams": [...], "nextToken"?}`, pages concatenated
 * or not; the record is `message`.
 */
import { describeJson, isObject, listKeys } from "./export-reader.js";
import type { JsonExportShape } from "./json-export-reader.js";

export const LOG_EVENTS: JsonExportShape = {
  key: "events",
  message(event) {
    if (!isObject(event)) return { missing: `not an object but ${describeJson(event)}` };
    const m = event.message;
    if (typeof m === "string") return { text: m };
    return { missing: m === undefined ? "no message field" : "message is not a string" };
  },
  describe(event) {
    if (isObject(event))
      return `a JSON object whose events have no message (keys: ${listKeys(Object.keys(event))})`;
    return `a JSON object whose events hold ${describeJson(event)}`;
  },
};
