/**
 * The detector's CloudWatch dashboard: alarm states, runs, findings and alerts, bytes queried, query duration
 * and delivery failures, all from this detector's own metrics (its `Detector` dimension).
 */
import { Duration, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type { Construct } from "constructs";
import { METRIC } from "../config/names.js";
import { detectorMetric } from "./health-alarms.js";

export interface DashboardProps {
  readonly label: string;
  readonly alarms: readonly cloudwatch.IAlarm[];
}

export interface DetectorDashboard {
  readonly dashboard: cloudwatch.Dashboard;
  /** The dashboard in the CloudWatch console. */
  readonly url: string;
}

/** Dashboard names take letters, digits, `-` and `_` only. */
export const dashboardNameOf = (label: string) => label.replace(/[^A-Za-z0-9_-]+/g, "-").slice(0, 200);

export function buildDashboard(scope: Construct, props: DashboardProps): DetectorDashboard {
  const stack = Stack.of(scope);
  const hour = Duration.hours(1);
  const m = (name: string, statistic: string, label: string) =>
    detectorMetric(props.label, name, { statistic, period: hour }).with({ label });
  const graph = (title: string, left: cloudwatch.IMetric[], width = 8) =>
    new cloudwatch.GraphWidget({ title, left, width, height: 6, period: hour });
  // Dashboards are per account, not per region: the region keeps two regions' detectors apart.
  const dashboardName = `${dashboardNameOf(props.label)}-${stack.region}`;
  const dashboard = new cloudwatch.Dashboard(scope, "Dashboard", {
    dashboardName,
    defaultInterval: Duration.days(7),
    widgets: [
      [
        new cloudwatch.AlarmStatusWidget({
          title: `${props.label}: health alarms`,
          alarms: [...props.alarms],
          width: 24,
          height: 3,
        }),
      ],
      [
        graph("Runs (per hour)", [
          m(METRIC.runSucceeded, cloudwatch.Stats.SUM, "succeeded"),
          m(METRIC.runFailed, cloudwatch.Stats.SUM, "failed"),
        ]),
        graph("Findings and alerts (per hour)", [
          m(METRIC.accountsFlagged, cloudwatch.Stats.MAXIMUM, "accounts flagged"),
          m(METRIC.alertsPublished, cloudwatch.Stats.SUM, "alerts sent"),
          m(METRIC.alertsSuppressed, cloudwatch.Stats.SUM, "alerts held back"),
        ]),
        graph("Delivery failures (per hour)", [
          m(METRIC.findingEventsFailed, cloudwatch.Stats.SUM, "EventBridge entries"),
          m(METRIC.securityHubImportFailed, cloudwatch.Stats.SUM, "Security Hub findings"),
          m(METRIC.ledgerWriteFailed, cloudwatch.Stats.SUM, "ledger writes"),
        ]),
      ],
      [
        graph(
          "Bytes queried (Logs Insights bills these)",
          [m(METRIC.bytesScanned, cloudwatch.Stats.SUM, "bytes scanned")],
          12,
        ),
        graph(
          "Query duration",
          [
            m(METRIC.queryDuration, cloudwatch.Stats.AVERAGE, "average"),
            m(METRIC.queryDuration, cloudwatch.Stats.MAXIMUM, "maximum"),
          ],
          12,
        ),
      ],
      [
        graph(
          "State table traffic per run",
          [
            m(METRIC.stateBytesRead, cloudwatch.Stats.MAXIMUM, "bytes read"),
            m(METRIC.stateBytesWritten, cloudwatch.Stats.MAXIMUM, "bytes written"),
          ],
          12,
        ),
        graph(
          "Catching up (periods, and anomaly history hours, still to query)",
          [
            m(METRIC.slicesPending, cloudwatch.Stats.MAXIMUM, "periods"),
            m(METRIC.historyHoursPending, cloudwatch.Stats.MAXIMUM, "history hours"),
          ],
          12,
        ),
      ],
    ],
  });
  const url = `https://${stack.region}.console.aws.amazon.com/cloudwatch/home?region=${stack.region}#dashboards/dashboard/${dashboardName}`;
  return { dashboard, url };
}
