import { execFileSync } from "node:child_process";

/** The CLI tests spawn the shipped bundle: build it once, as `npm ci` (prepare) does. */
export default function setup(): void {
  execFileSync(process.execPath, ["scripts/build-cli.mjs"], { stdio: "inherit" });
}
