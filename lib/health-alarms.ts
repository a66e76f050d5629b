/** Health alarms on the detector itself, all notifying the alert topic. */
import { Annotations, Duration, Stack, Token } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cloudwatchActions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { METRIC, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME } from "../config/names.js";
import type { DetectorPlan } from "./props.js";

/** The health alarms, by what they watch. */
export interface DetectorAlarms {
  readonly functionErrors: cloudwatch.Alarm;
  readonly functionThrottles: cloudwatch.Alarm;
  readonly noSuccessfulRun: cloudwatch.Alarm;
  readonly deadLetters: cloudwatch.Alarm;
  /** Absent when the only watched log groups are other accounts' or regions' (see `heartbeatLogGroupName`). */
  readonly invocationLogsStopped?: cloudwatch.Alarm;
}

export interface HealthAlarmsProps {
  readonly plan: DetectorPlan;
  readonly function: lambda.IFunction;
  readonly deadLetterQueue: sqs.Queue;
  readonly topic: sns.ITopic;
}

const FIVE_MINUTES = Duration.minutes(5);
const HOUR_S = 3600;

export function buildHealthAlarms(scope: Construct, props: HealthAlarmsProps): DetectorAlarms {
  const { settings } = props.plan;
  const action = new cloudwatchActions.SnsAction(props.topic);
  const alarm = (id: string, alarmProps: cloudwatch.AlarmProps): cloudwatch.Alarm => {
    const a = new cloudwatch.Alarm(scope, id, alarmProps);
    a.addAlarmAction(action);
    return a;
  };
  const silenceHours = settings.maxLogSilence / 1000 / HOUR_S;
  const heartbeat = localHeartbeat(scope, props.plan);
  const schedule = Duration.millis(settings.schedule);
  return {
    functionErrors: alarm("FunctionErrorsAlarm", {
      alarmDescription:
        "The Bedrock DoS detector failed a run (see its log group for the one-line reason). Failed runs are retried, then sent to the dead-letter queue.",
      metric: props.function.metricErrors({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    functionThrottles: alarm("FunctionThrottlesAlarm", {
      alarmDescription:
        "The Bedrock DoS detector was throttled: a run was still going when the next started (reserved concurrency is 1).",
      metric: props.function.metricThrottles({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    noSuccessfulRun: alarm("NoSuccessfulRunAlarm", {
      alarmDescription: `The Bedrock DoS detector has not completed a run in two schedule periods (${schedule.toHumanString()} each): nothing is being checked.`,
      metric: new cloudwatch.Metric({
        namespace: POWERTOOLS_METRICS_NAMESPACE,
        metricName: METRIC.runSucceeded,
        dimensionsMap: { service: POWERTOOLS_SERVICE_NAME },
        statistic: cloudwatch.Stats.SUM,
        period: schedule,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    }),
    deadLetters: alarm("DeadLettersAlarm", {
      alarmDescription:
        "Messages in the Bedrock DoS detector's dead-letter queue: a scheduled run, a retried run or a tamper alert was lost.",
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: FIVE_MINUTES,
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    ...(heartbeat
      ? {
          invocationLogsStopped: alarm("InvocationLogsStoppedAlarm", {
            alarmDescription: `No Bedrock invocation logs arrived in ${heartbeat} for ${silenceHours} hour(s): invocation logging may be off or broken, and the detector is blind.`,
            metric: new cloudwatch.Metric({
              namespace: "AWS/Logs",
              metricName: "IncomingLogEvents",
              dimensionsMap: { LogGroupName: heartbeat },
              statistic: cloudwatch.Stats.SUM,
              period: Duration.hours(1),
            }),
            threshold: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluationPeriods: silenceHours,
            datapointsToAlarm: silenceHours,
            treatMissingData: cloudwatch.TreatMissingData.BREACHING,
          }),
        }
      : {}),
  };
}

/**
 * The name of the log group the log-arrival alarm can watch here: its `IncomingLogEvents` metric lives in
 * the group's own account and region, so a group known only by another account's or region's ARN (or an
 * ARN when the stack's account or region is not known at synth) has none. Then synth warns.
 */
function localHeartbeat(scope: Construct, plan: DetectorPlan): string | undefined {
  const hb = plan.heartbeat;
  if (!hb) return undefined;
  if (hb.account === undefined) return hb.name;
  const stack = Stack.of(scope);
  const local =
    !Token.isUnresolved(stack.account) &&
    !Token.isUnresolved(stack.region) &&
    stack.account === hb.account &&
    stack.region === hb.region;
  if (local) return hb.name;
  Annotations.of(scope).addWarningV2(
    "bedrock-dos-detector:no-log-arrival-alarm",
    `No "invocation logs stopped" alarm: ${hb.name} is watched through an ARN of account ${hb.account} in ${hb.region}, ` +
      "whose metrics this stack cannot alarm on. Set heartbeatLogGroupName to a log group in this account and region, " +
      "or alarm on IncomingLogEvents in the source account.",
  );
  return undefined;
}
