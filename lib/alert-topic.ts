/**
 * The alert topic: findings, health alarms and tamper alerts go here. Encrypted with a customer-managed key
 * (CloudWatch alarms cannot publish to a topic under the AWS-managed `aws/sns` key), TLS only, publishable by
 * this account's alarms only, with the email subscriptions.
 *
 * Like every part of the detector, built straight into the detector's scope (the way aws-solutions-constructs'
 * `build*` helpers work), so construct paths and logical ids do not depend on how the code is split.
 */
import { ArnFormat, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as snsSubscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type { Construct } from "constructs";

export interface AlertTopicProps {
  /** Email addresses subscribed to the topic. */
  readonly emails: readonly string[];
}

export interface AlertTopic {
  readonly topic: sns.Topic;
  /** Customer-managed key encrypting the topic. */
  readonly key: kms.Key;
}

export function buildAlertTopic(scope: Construct, props: AlertTopicProps): AlertTopic {
  const stack = Stack.of(scope);
  const key = new kms.Key(scope, "AlertKey", {
    description: "Encrypts the Bedrock DoS detector's alert topic",
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: "AllowCloudWatchAlarmsToPublishToTheEncryptedTopic",
      principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
      actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
      resources: ["*"],
      // Only alarms of this account (confused-deputy protection, as on the topic policy).
      conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
    }),
  );
  const topic = new sns.Topic(scope, "AlertTopic", {
    displayName: "Bedrock DoS detector",
    masterKey: key,
    enforceSSL: true,
  });
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: "AllowCloudWatchAlarmsOfThisAccountToPublish",
      principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
      actions: ["sns:Publish"],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { "aws:SourceAccount": stack.account },
        ArnLike: {
          "aws:SourceArn": stack.formatArn({
            service: "cloudwatch",
            resource: "alarm",
            resourceName: "*",
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }),
  );
  for (const email of props.emails) topic.addSubscription(new snsSubscriptions.EmailSubscription(email));
  return { topic, key };
}
