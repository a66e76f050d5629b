/**
 * The package root: the construct, its props, and what a CDK app needs around them. The CLI is the package's
 * `bin`; nothing else is public. Kept jsii-friendly where it costs little: classes and interfaces only (constants
 * are static members), no mapped types or unions in props.
 */

export type { InvocationArchiveOptions } from "./archive-props.js";
export { BedrockDosDetector } from "./bedrock-dos-detector.js";
export { DetectorStack, type DetectorStackProps } from "./detector-stack.js";
export { ConstructError } from "./errors.js";
export type { DetectorAlarms } from "./health-alarms.js";
export { BedrockInvocationArchive, type BedrockInvocationArchiveProps } from "./invocation-archive.js";
export type { BedrockDosDetectorProps, DetectorThresholds } from "./props.js";
