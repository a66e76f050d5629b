import { describe, expect, it } from "vitest";
import { datehourRange, projectionParameters, tableLocation } from "../../core/athena-table.js";
import { hourFolder } from "../../core/delivery-layout.js";

describe("the Athena table over the delivery archive", () => {
  const settings = {
    bucket: "logs",
    prefix: "org/",
    accountIds: ["111111111111", "222222222222"],
    regions: ["us-east-1"],
    firstHour: "2026/01/01/00",
  };

  it("projects partitions onto Bedrock's delivery layout", () => {
    const p = projectionParameters(settings);
    const location = p["storage.location.template"]
      ?.replace(/\$\{account\}/, "111111111111")
      .replace(/\$\{region\}/, "us-east-1")
      .replace(/\$\{datehour\}/, hourFolder(Date.UTC(2026, 10, 19, 7)));
    expect(location).toBe(
      "s3://logs/org/AWSLogs/111111111111/BedrockModelInvocationLogs/us-east-1/2026/11/19/07/",
    );
    expect(location?.startsWith(tableLocation(settings))).toBe(true);
    expect(p["projection.account.values"]).toBe("111111111111,222222222222");
    expect(p["projection.datehour.range"]).toBe("2026/01/01/00,NOW");
  });

  it("reads a window's hours and one hour of delivery slack either side", () => {
    const window = { startMs: Date.UTC(2026, 10, 19, 0, 30), endMs: Date.UTC(2026, 10, 20) };
    expect(datehourRange(window)).toEqual({ from: "2026/11/18/23", to: "2026/11/20/00" });
  });
});
