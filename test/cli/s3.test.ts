import { describe, expect, it } from "vitest";
import { datePrefixes, describeS3Error, parseS3Url } from "../../cli/s3.js";
import { DAY_MS } from "../../core/rule.js";

const at = (iso: string) => Date.parse(iso);

describe("datePrefixes: the folders of Bedrock's layout that can hold a window's records", () => {
  it("the window's hours, and one hour either side (batching, late delivery)", () => {
    expect(datePrefixes({ startMs: at("2026-11-19T10:30:00Z"), endMs: at("2026-11-19T12:00:00Z") })).toEqual([
      "2026/11/19/09/",
      "2026/11/19/10/",
      "2026/11/19/11/",
      "2026/11/19/12/",
    ]);
  });

  it("crosses days, months and years", () => {
    const p = datePrefixes({ startMs: at("2026-12-31T23:00:00Z"), endMs: at("2027-01-01T00:00:01Z") });
    expect(p).toEqual(["2026/12/31/22/", "2026/12/31/23/", "2027/01/01/00/", "2027/01/01/01/"]);
  });

  it("a long window is listed by days, a very long one by months or years, never a whole bucket's hours", () => {
    const year = datePrefixes({ startMs: at("2026-01-01T00:00:00Z"), endMs: at("2027-01-01T00:00:00Z") });
    expect(year[0]).toBe("2025/12/31/");
    expect(year).toHaveLength(367);
    const decade = datePrefixes({ startMs: at("2020-01-01T00:00:00Z"), endMs: at("2030-01-01T00:00:00Z") });
    expect(decade[0]).toBe("2019/12/");
    expect(decade.at(-1)).toBe("2030/01/");
    const ages = datePrefixes({ startMs: 0, endMs: 2000 * 365 * DAY_MS });
    expect(ages.length).toBeLessThanOrEqual(1000);
  });
});

describe("parseS3Url", () => {
  it("splits bucket and prefix; the prefix may be empty", () => {
    expect(parseS3Url("s3://logs/AWSLogs/")).toEqual({ bucket: "logs", prefix: "AWSLogs/" });
    expect(parseS3Url("s3://logs")).toEqual({ bucket: "logs", prefix: "" });
    expect(() => parseS3Url("s3://")).toThrow("not an S3 location");
  });
});

describe("describeS3Error: the SDK's errors a user can fix, in one line", () => {
  const sdkError = (name: string, message: string, status?: number) =>
    Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

  it.each([
    [
      sdkError("CredentialsProviderError", "Could not load credentials from any providers"),
      /^no AWS credentials found/,
    ],
    [
      sdkError(
        "CredentialsProviderError",
        "The SSO session associated with this profile has expired.\nRun aws sso login",
      ),
      /^AWS credentials: The SSO session associated with this profile has expired\. \(set AWS_PROFILE/,
    ],
    [sdkError("ExpiredToken", "The provided token has expired.", 400), /^the AWS credentials have expired$/],
    [sdkError("AccessDenied", "Access Denied", 403), /^access denied \(AccessDenied\)/],
    [sdkError("Forbidden", "", 403), /^access denied \(Forbidden\)/],
    [sdkError("NoSuchBucket", "The specified bucket does not exist", 404), /^no such bucket$/],
    [
      sdkError("SlowDown", "Please reduce your request rate.\nmore", 503),
      /^SlowDown: Please reduce your request rate\.$/,
    ],
  ])("%s", (err, message) => {
    const text = describeS3Error(err);
    expect(text).toMatch(message);
    expect(text).not.toContain("\n");
  });
});
