/**
 * The Lambda handlers, bundled at build time (scripts/build.mjs) into folders inside the package: a CDK app
 * that uses the construct deploys them as they are, with no esbuild, Docker or lock file of its own.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { ConstructError } from "./errors.js";

/** The bundled functions, by asset folder (scripts/build.mjs builds one per handler). */
export type LambdaAsset = "detector" | "tamper-alert";

// From the built library (dist/lib/index.*) the assets are ../assets; from the sources (lib/*.ts) ../dist/assets.
const CANDIDATE_ROOTS = ["../assets/", "../dist/assets/"];

/** The folder holding one bundled handler (`index.mjs`, exporting `handler`). */
export function lambdaAssetDir(name: LambdaAsset): string {
  for (const root of CANDIDATE_ROOTS) {
    const dir = fileURLToPath(new URL(`${root}${name}/`, import.meta.url));
    if (existsSync(`${dir}index.mjs`)) return dir;
  }
  throw new ConstructError(
    `the bundled Lambda handler "${name}" is missing: build the package first (npm run build)`,
  );
}

/** Code, runtime and architecture shared by the project's functions. */
export function bundledFunctionProps(name: LambdaAsset) {
  return {
    code: lambda.Code.fromAsset(lambdaAssetDir(name)),
    handler: "index.handler",
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
  } satisfies Partial<lambda.FunctionProps>;
}
