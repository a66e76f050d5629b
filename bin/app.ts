#!/usr/bin/env node
/** CDK app entry (cdk.json: bundles the handlers, then `npx tsx bin/app.ts`). Bad context prints one line and exits 1. */
import { App } from "aws-cdk-lib";
import { buildApp } from "../lib/app.js";
import { ConstructError } from "../lib/errors.js";

const app = new App();
try {
  buildApp(app);
} catch (err) {
  if (!(err instanceof ConstructError)) throw err;
  console.error(`error: ${err.message}`);
  process.exit(1);
}
app.synth();
