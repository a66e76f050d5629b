/** Health alarms on the detector itself, all notifying the alert topic. */
import { Annotations, Duration, Stack, Token } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cloudwatchActions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import {
  DETECTOR_DIMENSION,
  METRIC,
  POWERTOOLS_METRICS_NAMESPACE,
  POWERTOOLS_SERVICE_NAME,
} from "../config/names.js";
import { type DetectorPlan, settingNames } from "./props.js";

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
  /** Prefixes every alarm name and is the health metrics' `Detector` dimension. */
  readonly label: string;
  readonly function: lambda.Function;
  readonly deadLetterQueue: sqs.Queue;
  readonly topic: sns.ITopic;
}

const FIVE_MINUTES = Duration.minutes(5);
const HOUR_S = 3600;

/** The detector's own metrics (namespace, `service` and `Detector` dimensions as the handler emits them). */
export function detectorMetric(
  label: string,
  metricName: string,
  props: { statistic: string; period: Duration },
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: POWERTOOLS_METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: POWERTOOLS_SERVICE_NAME, [DETECTOR_DIMENSION]: label },
    ...props,
  });
}

/**
 * Every alarm notifies the topic when it fires and when it clears (OK). None fires on a healthy fresh
 * deployment: alarms on events count missing data as fine, and the two heartbeats ("no successful run",
 * "invocation logs stopped") ignore missing data, so they wait in INSUFFICIENT_DATA until the first run and
 * the first logs, and notify (INSUFFICIENT_DATA action) when data stops after it once flowed.
 */
export function buildHealthAlarms(scope: Construct, props: HealthAlarmsProps): DetectorAlarms {
  const { settings } = props.plan;
  const label = props.label;
  const action = new cloudwatchActions.SnsAction(props.topic);
  const alarm = (
    id: string,
    what: string,
    alarmProps: cloudwatch.AlarmProps,
    heartbeat = false,
  ): cloudwatch.Alarm => {
    const a = new cloudwatch.Alarm(scope, id, { ...alarmProps, alarmName: `${label} - ${what}` });
    a.addAlarmAction(action);
    a.addOkAction(action);
    if (heartbeat) a.addInsufficientDataAction(action);
    return a;
  };
  const silenceHours = settings.maxLogSilence / 1000 / HOUR_S;
  const heartbeat = localHeartbeat(scope, props.plan);
  const schedule = Duration.millis(settings.schedule);
  const logs = `the function's log group ${props.function.logGroup.logGroupName}`;
  return {
    functionErrors: alarm("FunctionErrorsAlarm", "detector run failed", {
      alarmDescription: `A run of Bedrock DoS detector ${label} failed, so that window may be unchecked. What to do: in ${logs}, search for "run failed": the line names the reason (SettingsError: a bad setting, named; QueryError and the like: Logs Insights; PublishError: SNS; FindingPublicationError: the alerts went out but EventBridge or Security Hub did not get the findings). Failed runs are retried twice, then go to the dead-letter queue. Clears (OK) when runs succeed again.`,
      metric: props.function.metricErrors({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    functionThrottles: alarm("FunctionThrottlesAlarm", "detector throttled", {
      alarmDescription: `Bedrock DoS detector ${label} was throttled: a run was still going when the next one started (reserved concurrency is 1), so that run was delayed. What to do: check the function's Duration against its timeout and the schedule; if runs are slow, lengthen the schedule or shorten the lookback. Clears (OK) by itself.`,
      metric: props.function.metricThrottles({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    noSuccessfulRun: alarm(
      "NoSuccessfulRunAlarm",
      "no successful run",
      {
        alarmDescription: `Bedrock DoS detector ${label} has not completed a run in two schedule periods (${schedule.toHumanString()} each): Bedrock usage is not being checked. ALARM: runs ran and failed (see the "detector run failed" alarm and ${logs}). INSUFFICIENT_DATA after OK: no run reported at all; check that the EventBridge Scheduler schedule is enabled and the dead-letter queue is empty. Before the first run after a deployment this alarm waits in INSUFFICIENT_DATA without notifying.`,
        metric: detectorMetric(label, METRIC.runSucceeded, {
          statistic: cloudwatch.Stats.SUM,
          period: schedule,
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 2,
        treatMissingData: cloudwatch.TreatMissingData.MISSING,
      },
      true,
    ),
    deadLetters: alarm("DeadLettersAlarm", "dead letters", {
      alarmDescription: `Messages in the dead-letter queue of Bedrock DoS detector ${label} (see the DeadLetterQueueUrl output): a scheduled run, a retried run or a tamper alert was lost. What to do: read the messages (SQS console > Send and receive messages > Poll): a run's message names its window; invoke the function with {"start","end"} to re-run it, then delete the messages. Clears (OK) when the queue is empty.`,
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
          invocationLogsStopped: alarm(
            "InvocationLogsStoppedAlarm",
            "invocation logs stopped",
            {
              alarmDescription: `No Bedrock invocation logs have arrived in ${heartbeat} for ${silenceHours} hour(s) (shown as INSUFFICIENT_DATA): Bedrock DoS detector ${label} is blind. What to do: check Bedrock > Settings > Model invocation logging in this region (a "logging changed" tamper alert may have come first) and that Bedrock is used at all; if this group is quiet for long periods, raise maxLogSilence. It waits silently until the group's first logs after a deployment.`,
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
              treatMissingData: cloudwatch.TreatMissingData.MISSING,
            },
            true,
          ),
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
      `whose metrics this stack cannot alarm on. Set ${settingNames("heartbeatLogGroup")} to a log group in this account and region, ` +
      "or alarm on IncomingLogEvents in the source account.",
  );
  return undefined;
}
