import { execFileSync } from "node:child_process";

/**
 * Builds the package once, as `npm ci` and `npm pack` do (prepare): the CLI tests spawn the shipped bundle,
 * the CDK tests deploy the bundled handlers, and the package test packs all of dist/.
 */
export default function setup(): void {
  execFileSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
}
