/**
 * The on-call view of the stack: alarm names, descriptions and actions, no alarm on a healthy fresh
 * deployment, one health metric dimension per detector, the dashboard, the outputs, and least-privilege IAM
 * for the finding events and the Security Hub import.
 */
import { App, type Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { ENV } from "../../config/environment.js";
import { DetectorStack } from "../../lib/detector-stack.js";
import { build, detectorFunction, only, statementsOf } from "./helpers.js";

const LOG_GROUP = "/aws/bedrock/model-invocations";

type AlarmProps = Record<string, unknown> & {
  AlarmName: string;
  AlarmDescription: unknown;
  TreatMissingData: string;
};

const alarmsOf = (template: Template) =>
  Object.values(template.findResources("AWS::CloudWatch::Alarm")).map((a) => a.Properties as AlarmProps);

describe("health alarms, as on-call staff meet them", () => {
  const { stack, detector, template } = build({ logGroupIdentifiers: [LOG_GROUP] });
  const alarms = alarmsOf(template);
  const topicRef = stack.resolve(detector.alertTopic.topicArn);

  it("have human names prefixed with the detector's label (default: the stack name)", () => {
    expect(alarms.map((a) => a.AlarmName).sort()).toEqual(
      [
        "Test - dead letters",
        "Test - detector run failed",
        "Test - detector throttled",
        "Test - invocation logs stopped",
        "Test - no successful run",
      ].sort(),
    );
    const labelled = alarmsOf(build({ logGroupIdentifiers: [LOG_GROUP], detectorLabel: "prod eu" }).template);
    expect(labelled.every((a) => a.AlarmName.startsWith("prod eu - "))).toBe(true);
  });

  it("say what to do, name the detector, and fit CloudWatch's 1024 characters", () => {
    for (const a of alarms) {
      const text = JSON.stringify(stack.resolve(a.AlarmDescription));
      expect(text).toMatch(/What to do|check that/);
      expect(text).toContain("Test");
      // Tokens resolve to short names; the literal text alone must leave room for them.
      expect(text.length).toBeLessThanOrEqual(1024);
    }
  });

  it("notify the topic when they fire and when they clear (OK)", () => {
    for (const a of alarms) {
      expect(a.AlarmActions).toEqual([topicRef]);
      expect(a.OKActions).toEqual([topicRef]);
    }
  });

  /**
   * CloudWatch's rules for an alarm's first evaluation with no data at all (a new deployment): it starts in
   * INSUFFICIENT_DATA; missing data `breaching` gives ALARM, `notBreaching` OK, `missing`/`ignore` keep
   * INSUFFICIENT_DATA. Actions run on state changes only.
   */
  const firstEvaluation = (a: AlarmProps) => {
    const state =
      a.TreatMissingData === "breaching"
        ? "ALARM"
        : a.TreatMissingData === "notBreaching"
          ? "OK"
          : "INSUFFICIENT_DATA";
    const actions = state === "ALARM" ? a.AlarmActions : state === "OK" ? a.OKActions : undefined; // no change, no action
    return { state, actions };
  };

  it("none fires on a healthy fresh deployment: at most an OK, never ALARM or an INSUFFICIENT_DATA page", () => {
    for (const a of alarms) {
      const { state, actions } = firstEvaluation(a);
      expect(state, a.AlarmName).not.toBe("ALARM");
      if (actions !== undefined) expect(state).toBe("OK");
    }
    // The two heartbeats wait for their first data, then notify if it stops (INSUFFICIENT_DATA action).
    const heartbeats = alarms.filter((a) => a.TreatMissingData === "missing").map((a) => a.AlarmName);
    expect(heartbeats.sort()).toEqual(["Test - invocation logs stopped", "Test - no successful run"]);
    for (const a of alarms.filter((x) => x.TreatMissingData === "missing"))
      expect(a.InsufficientDataActions).toEqual([topicRef]);
  });

  it("a healthy first run clears 'no successful run' (RunSucceeded 1 is not below 1); a failed run (0) fires it", () => {
    const a = alarms.find((x) => x.MetricName === "RunSucceeded");
    expect(a).toMatchObject({ ComparisonOperator: "LessThanThreshold", Threshold: 1 });
  });

  it("each detector watches its own health metric (a Detector dimension, written to the function)", () => {
    const app = new App();
    const stacks = ["Prod", "Staging"].map(
      (name) => new DetectorStack(app, name, { detector: { logGroupIdentifiers: [LOG_GROUP] } }),
    );
    const dims = stacks.map((s) => {
      const name = s.stackName;
      const t = Template.fromStack(s);
      const fn = detectorFunction(t);
      const vars = (fn.props.Environment as { Variables: Record<string, string> }).Variables;
      expect(vars[ENV.detectorLabel]).toBe(name);
      const runs = alarmsOf(t).find((a) => a.MetricName === "RunSucceeded");
      return runs?.Dimensions;
    });
    expect(dims[0]).not.toEqual(dims[1]);
    expect(dims[0]).toContainEqual({ Name: "Detector", Value: "Prod" });
  });
});

describe("the dashboard", () => {
  const { stack, detector, template } = build({ logGroupIdentifiers: [LOG_GROUP], detectorLabel: "prod eu" });
  const dash = only(template, "AWS::CloudWatch::Dashboard");
  const body = JSON.stringify(stack.resolve(dash.props.DashboardBody));

  it("shows runs, findings, accounts flagged, bytes queried, query duration and every alarm's state", () => {
    for (const metric of [
      "RunSucceeded",
      "RunFailed",
      "AccountsFlagged",
      "AlertsPublished",
      "BytesScanned",
      "QueryDuration",
    ])
      expect(body).toContain(`\\"${metric}\\"`);
    expect(body).toContain("alarm");
    for (const alarm of Object.values(detector.alarms)) {
      const id = stack.getLogicalId(alarm.node.defaultChild as never);
      expect(body).toContain(id);
    }
    // This detector's metrics only.
    expect(body).toContain('\\"Detector\\",\\"prod eu\\"');
  });

  it("is named after the label and region, and its URL is a stack output", () => {
    expect(JSON.stringify(dash.props.DashboardName)).toContain("prod-eu-");
    const app = new App();
    const s = new DetectorStack(app, "S", {
      detector: {
        logGroupIdentifiers: [LOG_GROUP],
        slackWorkspaceId: "T012AB3CD",
        slackChannelId: "C0123ABCDEF",
      },
    });
    const t = Template.fromStack(s);
    const url = JSON.stringify(t.findOutputs("DashboardUrl"));
    expect(url).toContain("#dashboards/dashboard/S-");
    expect(Object.keys(t.findOutputs("*"))).toContain("SlackChannelConfigurationArn");
  });
});

describe("least privilege for findings sent to SOAR tools", () => {
  const functionStatements = (template: Template, stack: Stack, roleId: string) =>
    Object.values(template.findResources("AWS::IAM::Policy"))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
      .flatMap((p) => statementsOf(p) as Record<string, unknown>[])
      .map((st) => stack.resolve(st) as Record<string, unknown>);

  it("events:PutEvents on the configured bus only", () => {
    const bus = "arn:aws:events:us-east-1:111122223333:event-bus/soar";
    const { stack, detector, template } = build({ logGroupIdentifiers: [LOG_GROUP], eventBusName: bus });
    const roleId = stack.getLogicalId(detector.function.role?.node.defaultChild as never);
    const st = functionStatements(template, stack, roleId).filter((s) =>
      JSON.stringify(s.Action).includes("events:"),
    );
    expect(st).toEqual([
      { Sid: "PutFindingEventsOnTheBus", Action: "events:PutEvents", Effect: "Allow", Resource: bus },
    ]);
    const vars = (detectorFunction(template).props.Environment as { Variables: Record<string, unknown> })
      .Variables;
    expect(vars[ENV.eventBusName]).toBe(bus);
  });

  it("securityhub:BatchImportFindings on the account's own product, only with securityHubImport", () => {
    const off = build({ logGroupIdentifiers: [LOG_GROUP] });
    expect(JSON.stringify(off.template.toJSON())).not.toContain("securityhub");
    const { stack, detector, template } = build(
      { logGroupIdentifiers: [LOG_GROUP], securityHubImport: true },
      { env: { account: "123456789012", region: "eu-west-1" } },
    );
    const product = "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default";
    const roleId = stack.getLogicalId(detector.function.role?.node.defaultChild as never);
    const st = functionStatements(template, stack, roleId).filter((s) =>
      JSON.stringify(s.Action).includes("securityhub"),
    );
    expect(st).toEqual([
      {
        Sid: "ImportFindingsIntoSecurityHub",
        Action: "securityhub:BatchImportFindings",
        Effect: "Allow",
        Resource: {
          "Fn::Join": [
            "",
            [
              "arn:",
              { Ref: "AWS::Partition" },
              `:securityhub:eu-west-1:123456789012:product/123456789012/default`,
            ],
          ],
        },
      },
    ]);
    const vars = (detectorFunction(template).props.Environment as { Variables: Record<string, unknown> })
      .Variables;
    expect(JSON.stringify(vars[ENV.securityHubProductArn])).toContain(
      ":securityhub:eu-west-1:123456789012:product/123456789012/default",
    );
    expect(product).toContain("product/123456789012/default");
  });
});
