/**
 * The package root: the construct, its props, and what a CDK app needs around them. The CLI is the package's
 * `bin`; nothing else is public.
 */
export { DEFAULT_INVOCATION_LOG_GROUP_NAME } from "../config/settings.js";
export { BedrockDosDetector } from "./bedrock-dos-detector.js";
export { DetectorStack, type DetectorStackProps } from "./detector-stack.js";
export { ConstructError } from "./errors.js";
export type { DetectorAlarms } from "./health-alarms.js";
export type { BedrockDosDetectorProps, DetectorThresholds } from "./props.js";
export { LOGGING_TAMPER_EVENT_NAMES } from "./tamper-alert.js";
