/** The alert ledger: one item per alerted account (its last alert), on demand, expiring through TTL. */
import { RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type { Construct } from "constructs";
import { LEDGER } from "../config/names.js";

export function buildAlertLedger(scope: Construct): dynamodb.Table {
  return new dynamodb.Table(scope, "AlertStateTable", {
    partitionKey: { name: LEDGER.partitionKey, type: dynamodb.AttributeType.STRING },
    timeToLiveAttribute: LEDGER.ttlAttribute,
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    // Only suppression state: losing it costs at most one repeat alert per account.
    removalPolicy: RemovalPolicy.DESTROY,
  });
}
