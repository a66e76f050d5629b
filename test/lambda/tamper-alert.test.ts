/** The tamper alert in both formats (golden), and its function publishing it with per-protocol messages. */
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ENV } from "../../config/environment.js";
import { MAX_SUBJECT_CHARS } from "../../lambda/alerts.js";
import { tamperAlert } from "../../lambda/tamper-alert.js";

const event = {
  version: "0",
  "detail-type": "AWS API Call via CloudTrail",
  source: "aws.bedrock",
  account: "123456789012",
  time: "2026-11-19T12:00:00Z",
  region: "us-east-1",
  detail: {
    eventSource: "bedrock.amazonaws.com",
    eventName: "DeleteModelInvocationLoggingConfiguration",
    sourceIPAddress: "203.0.113.9",
    userIdentity: { type: "AssumedRole", arn: "arn:aws:sts::123456789012:assumed-role/Admin/mallory" },
  },
};

const parts = (message: string) => {
  const outer = JSON.parse(message) as { default: string; email: string };
  return {
    chat: JSON.parse(outer.default) as { version: string; source: string; content: Record<string, unknown> },
    email: outer.email,
  };
};

describe("tamper alert", () => {
  const alert = tamperAlert(event, "prod-detector");
  const { chat, email } = parts(alert.message);

  it("email reads as text (golden), not JSON", async () => {
    expect(email.trimStart().startsWith("{")).toBe(false);
    expect(email.split("\n")[0]).toBe(
      "HIGH: Bedrock invocation logging switched off in account 123456789012 (detector prod-detector, us-east-1)",
    );
    await expect(email).toMatchFileSnapshot("golden/tamper-email.txt");
  });

  it("Slack gets an Amazon Q Developer custom notification (golden)", async () => {
    expect(chat).toMatchObject({
      version: "1.0",
      source: "custom",
      content: { textType: "client-markdown" },
    });
    await expect(JSON.stringify(chat, null, 2)).toMatchFileSnapshot("golden/tamper-chat.json");
  });

  it("subject: ASCII, one line, under 100 characters, label and region", () => {
    expect(alert.subject).toBe(
      "[HIGH] Bedrock invocation logging switched off in 123456789012 (prod-detector, us-east-1)",
    );
    expect(alert.subject.length).toBeLessThanOrEqual(MAX_SUBJECT_CHARS);
  });

  it("a Put reads as changed; missing fields say unknown rather than failing", () => {
    const put = tamperAlert(
      { ...event, detail: { eventName: "PutModelInvocationLoggingConfiguration" } },
      "x",
    );
    const text = parts(put.message).email;
    expect(text).toContain("logging changed");
    expect(text).toContain("Caller:     (unknown caller)");
    expect(parts(tamperAlert(null, "x").message).email).toContain("(unknown call)");
  });
});

describe("tamper function", () => {
  const sns = mockClient(SNSClient);
  afterEach(() => {
    sns.reset();
    vi.unstubAllEnvs();
  });

  it("publishes with MessageStructure json to the topic from its environment", async () => {
    sns.on(PublishCommand).resolves({ MessageId: "m" });
    vi.stubEnv(ENV.alertTopicArn, "arn:aws:sns:us-east-1:123456789012:alerts");
    vi.stubEnv(ENV.detectorLabel, "prod-detector");
    const { handler } = await import("../../lambda/tamper-handler.js");
    await handler(event);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: "arn:aws:sns:us-east-1:123456789012:alerts",
      MessageStructure: "json",
      Subject: expect.stringContaining("prod-detector"),
    });
  });

  it("fails the invocation when publishing fails (retried, then the dead-letter queue)", async () => {
    sns.on(PublishCommand).rejects(new Error("denied"));
    vi.stubEnv(ENV.alertTopicArn, "arn:aws:sns:us-east-1:123456789012:alerts");
    const { handler } = await import("../../lambda/tamper-handler.js");
    await expect(handler(event)).rejects.toThrow("publishing alert 1 of 1 failed");
  });
});
