/** `--name N` options of the benchmark scripts. */
export function numberOption(name: string, dflt: number): number {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  const value = i >= 0 ? Number(args[i + 1]) : dflt;
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name} must be a positive number, got ${args[i + 1]}`);
    process.exit(2);
  }
  return value;
}
