/** Snapshot of a fully configured stack, asset hashes blanked: any template change shows up in review. */
import { App, Duration } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { DetectorStack } from "../../lib/detector-stack.js";
import { withBlankAssetHashes } from "./helpers.js";

describe("template snapshot", () => {
  it("matches for a stack with every option on", () => {
    const app = new App();
    const stack = new DetectorStack(app, "BedrockDosDetector", {
      detector: {
        enableInvocationLogging: true,
        logGroupIdentifiers: ["arn:aws:logs:us-east-1:111122223333:log-group:/shared/bedrock"],
        alertEmails: ["security@example.com"],
        slackWorkspaceId: "T012AB3CD",
        slackChannelId: "C0123ABCDEF",
        schedule: Duration.hours(1),
        excludedAccountIds: ["123456789012"],
      },
    });
    expect(withBlankAssetHashes(Template.fromStack(stack))).toMatchSnapshot();
  });

  it("blanks asset hashes", () => {
    const app = new App();
    const stack = new DetectorStack(app, "S", { detector: { logGroupIdentifiers: ["/a"] } });
    const text = JSON.stringify(withBlankAssetHashes(Template.fromStack(stack)));
    expect(text).toContain('"<asset-hash>.zip"');
    expect(text).not.toMatch(/[0-9a-f]{64}/);
  });
});
