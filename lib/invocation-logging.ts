/**
 * Bedrock model invocation logging switched on by the stack (opt-in): a log group kept on delete, a delivery
 * role for `bedrock.amazonaws.com` (this account only), and a custom resource calling
 * `PutModelInvocationLoggingConfiguration` (there is no CloudFormation resource for it).
 */
import { RemovalPolicy, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import * as cr from "aws-cdk-lib/custom-resources";
import type { Construct } from "constructs";
import { acknowledgeOnChild } from "./nag.js";

export interface InvocationLoggingProps {
  readonly logGroupName: string;
  readonly retention: logs.RetentionDays;
}

export function buildInvocationLogging(scope: Construct, props: InvocationLoggingProps): logs.LogGroup {
  const stack = Stack.of(scope);
  const logGroup = new logs.LogGroup(scope, "InvocationLogs", {
    logGroupName: props.logGroupName,
    retention: props.retention,
    // Audit evidence (and prompts): kept when the stack is deleted.
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const deliveryRole = new iam.Role(scope, "InvocationLoggingRole", {
    description: "Lets Amazon Bedrock write model invocation logs to the detector's log group",
    assumedBy: new iam.ServicePrincipal("bedrock.amazonaws.com", {
      conditions: {
        StringEquals: { "aws:SourceAccount": stack.account },
        ArnLike: { "aws:SourceArn": stack.formatArn({ service: "bedrock", resource: "*" }) },
      },
    }),
  });
  logGroup.grantWrite(deliveryRole);

  const put: cr.AwsSdkCall = {
    service: "bedrock",
    action: "PutModelInvocationLoggingConfiguration",
    parameters: {
      loggingConfig: {
        cloudWatchConfig: { logGroupName: props.logGroupName, roleArn: deliveryRole.roleArn },
        textDataDeliveryEnabled: true,
        imageDataDeliveryEnabled: false,
        embeddingDataDeliveryEnabled: false,
      },
    },
    // One fixed id: the configuration is a per-region singleton, and a new id would make CloudFormation
    // delete the old resource (switching logging off) after creating the new one.
    physicalResourceId: cr.PhysicalResourceId.of("bedrock-model-invocation-logging"),
  };
  const config = new cr.AwsCustomResource(scope, "InvocationLoggingConfiguration", {
    onCreate: put,
    onUpdate: put,
    onDelete: { service: "bedrock", action: "DeleteModelInvocationLoggingConfiguration" },
    installLatestAwsSdk: false,
    policy: cr.AwsCustomResourcePolicy.fromStatements([
      new iam.PolicyStatement({
        actions: [
          "bedrock:PutModelInvocationLoggingConfiguration",
          "bedrock:DeleteModelInvocationLoggingConfiguration",
        ],
        resources: ["*"],
      }),
      new iam.PolicyStatement({
        actions: ["iam:PassRole"],
        resources: [deliveryRole.roleArn],
        conditions: { StringEquals: { "iam:PassedToService": "bedrock.amazonaws.com" } },
      }),
    ]),
  });
  // The role and its policy must exist before Bedrock validates them.
  config.node.addDependency(deliveryRole, logGroup);
  acknowledgeOnChild(config, "CustomResourcePolicy", {
    id: "AwsSolutions-IAM5[Resource::*]",
    reason:
      "bedrock:Put/DeleteModelInvocationLoggingConfiguration have no resource type: the configuration is per account and region.",
  });
  // The CDK-provided handler behind every AwsCustomResource in the stack (a singleton at stack level).
  const provider = stack.node.tryFindChild(
    `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, "")}`,
  );
  if (provider) {
    acknowledgeOnChild(provider, "ServiceRole", {
      id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
      reason:
        "The CDK AwsCustomResource handler writes its own logs with the basic execution policy; it runs only during deployments.",
    });
  }
  return logGroup;
}
