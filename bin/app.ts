#!/usr/bin/env node
/** CDK app entry (cdk.json: `npx tsx bin/app.ts`). Bad context prints one line and exits 1. */
import { App } from "aws-cdk-lib";
import { SettingsError } from "../config/settings.js";
import { buildApp } from "../lib/app.js";
import { UnknownContextKeyError } from "../lib/context.js";

const app = new App();
try {
  buildApp(app);
} catch (err) {
  if (!(err instanceof SettingsError || err instanceof UnknownContextKeyError)) throw err;
  console.error(`error: ${err.message}`);
  process.exit(1);
}
app.synth();
