/** A stack holding one BedrockDosDetector, with the outputs the smoke test and operators need. */
import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { normalizeLogGroupIdentifier } from "../config/settings.js";
import { BedrockDosDetector } from "./bedrock-dos-detector.js";
import type { BedrockDosDetectorProps } from "./props.js";

export interface DetectorStackProps extends StackProps {
  /** The detector's settings (log groups, alert routing, schedule, rule). @default - every default */
  readonly detector?: BedrockDosDetectorProps;
}

export class DetectorStack extends Stack {
  public readonly detector: BedrockDosDetector;

  constructor(scope: Construct, id: string, props: DetectorStackProps = {}) {
    const { detector, ...stackProps } = props;
    super(scope, id, {
      description:
        "Bedrock DoS / resource-exhaustion detector: scheduled Logs Insights rule, alerts, health alarms",
      ...stackProps,
    });
    this.detector = new BedrockDosDetector(this, "Detector", detector);

    new CfnOutput(this, "FunctionName", {
      description: 'The detector function (invoke it with {"start","end","dryRun"} for a manual run)',
      value: this.detector.function.functionName,
    });
    new CfnOutput(this, "AlertTopicArn", {
      description: "SNS topic receiving findings, health alarms and tamper alerts",
      value: this.detector.alertTopic.topicArn,
    });
    new CfnOutput(this, "DeadLetterQueueUrl", {
      description: "Failed runs and deliveries",
      value: this.detector.deadLetterQueue.queueUrl,
    });
    new CfnOutput(this, "LogGroups", {
      description: "Log groups the detector queries",
      value: this.detector.logGroupIdentifiers.map(normalizeLogGroupIdentifier).join(","),
    });
    new CfnOutput(this, "DashboardUrl", {
      description: "The detector's CloudWatch dashboard: alarm states, runs, findings, bytes queried",
      value: this.detector.dashboardUrl,
    });
    new CfnOutput(this, "StateTableName", {
      description: "DynamoDB state table: stored periods and the last alert per account",
      value: this.detector.stateTable.tableName,
    });
    new CfnOutput(this, "DetectorLabel", {
      description: "Names this detector in alerts and alarms; the health metrics' Detector dimension",
      value: this.detector.label,
    });
    const archive = this.detector.archive;
    if (archive) {
      new CfnOutput(this, "ArchiveWorkGroup", {
        description: "Athena workgroup over the S3 delivery archive (saved queries, results, cutoff)",
        value: archive.workGroupName,
      });
      new CfnOutput(this, "ArchiveTable", {
        description: "Glue database.table over the S3 delivery archive",
        value: `${archive.databaseName}.${archive.tableName}`,
      });
      new CfnOutput(this, "ArchiveQueryPolicyArn", {
        description: "Managed policy that lets a role run the archive's queries",
        value: archive.queryPolicy.managedPolicyArn,
      });
    }
    if (this.detector.slackChannel) {
      new CfnOutput(this, "SlackChannelConfigurationArn", {
        description: "Amazon Q Developer Slack channel configuration receiving the alerts",
        value: this.detector.slackChannel.slackChannelConfigurationArn,
      });
    }
  }
}
