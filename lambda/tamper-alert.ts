/**
 * The tamper alert: Bedrock invocation logging switched off or pointed elsewhere leaves the detector blind.
 * Built from the CloudTrail event as both formats, like the findings' alerts: an Amazon Q Developer custom
 * notification (`default`, Slack) and plain text (`email`). CloudTrail fields only, never request data.
 */
import { type AlertMessage, asciiLine, humanTime, MAX_SUBJECT_CHARS } from "./alerts.js";

interface TamperFacts {
  readonly eventName: string;
  readonly account: string;
  readonly region: string;
  readonly time: string;
  readonly caller: string;
  readonly sourceIp: string;
}

const str = (v: unknown, fallback: string): string =>
  typeof v === "string" && v.trim() !== "" ? v.trim().slice(0, 512) : fallback;
const field = (o: unknown, key: string): unknown =>
  typeof o === "object" && o !== null ? (o as Record<string, unknown>)[key] : undefined;

/** The facts of an EventBridge "AWS API Call via CloudTrail" event; missing fields say so. */
export function tamperFacts(event: unknown): TamperFacts {
  const detail = field(event, "detail");
  const identity = field(detail, "userIdentity");
  return {
    eventName: str(field(detail, "eventName"), "(unknown call)"),
    account: str(field(event, "account"), "(unknown account)"),
    region: str(field(event, "region"), "(unknown region)"),
    time: str(field(event, "time"), ""),
    caller: str(field(identity, "arn"), str(field(identity, "type"), "(unknown caller)")),
    sourceIp: str(field(detail, "sourceIPAddress"), "(unknown address)"),
  };
}

const code = (text: string) => `\`${text.replace(/[`\r\n]/g, "")}\``;

export function tamperAlert(event: unknown, detectorLabel: string): AlertMessage {
  const f = tamperFacts(event);
  const ms = Date.parse(f.time);
  const when = Number.isFinite(ms) ? humanTime(ms) : "an unknown time";
  const off = f.eventName.startsWith("Delete");
  const what = off ? "switched off" : "changed";
  const subject = asciiLine(
    `[HIGH] Bedrock invocation logging ${what} in ${f.account} (${detectorLabel}, ${f.region})`,
    MAX_SUBJECT_CHARS,
  );
  const effect = off
    ? "Bedrock no longer writes model invocation logs here, so the DoS detector is blind."
    : "Invocation logs may now go elsewhere or without text, which can leave the DoS detector blind.";
  const steps = [
    "If you did not plan this change, check Bedrock > Settings > Model invocation logging in this region and restore it (CloudWatch Logs, text delivery on, the log group the detector watches).",
    `Check who ${f.caller} is and whether ${f.sourceIp} is one of your addresses; review the CloudTrail event for the new configuration.`,
    "A deployment of the detector with enableInvocationLogging makes this same call: then nothing is wrong.",
  ];
  const notification = {
    version: "1.0",
    source: "custom",
    content: {
      textType: "client-markdown",
      title: `:warning: HIGH: Bedrock invocation logging ${what} in ${f.account} (${detectorLabel}, ${f.region})`,
      description: [
        `*HIGH* (detector ${code(detectorLabel)}, ${f.region}): ${code(f.eventName)} was called in account ${code(f.account)} at ${when} by ${code(f.caller)} from ${code(f.sourceIp)}.`,
        effect,
      ].join("\n"),
      nextSteps: steps,
      keywords: ["bedrock", "invocation-logging", "tamper", f.region],
    },
    metadata: {
      summary: subject,
      additionalContext: {
        eventName: f.eventName,
        account: f.account,
        region: f.region,
        detector: detectorLabel,
      },
    },
  };
  const email = [
    `HIGH: Bedrock invocation logging ${what} in account ${f.account} (detector ${detectorLabel}, ${f.region})`,
    "",
    `Call:       ${f.eventName}`,
    `When:       ${when}`,
    `Caller:     ${f.caller}`,
    `From:       ${f.sourceIp}`,
    "",
    effect,
    "",
    "What to do:",
    ...steps.map((s, n) => `  ${n + 1}. ${s}`),
    "",
    `-- ${detectorLabel} (bedrock-dos-detector) in ${f.region}`,
  ].join("\n");
  return { subject, message: JSON.stringify({ default: JSON.stringify(notification), email }) };
}
