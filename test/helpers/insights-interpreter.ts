/**
 * A small interpreter of the Logs Insights commands the detector's queries use, so tests run the query text
 * itself rather than a re-implementation of what it means: `filter` (the window, comparisons, `in`/`not in`,
 * `and`/`or`), `parse` on a field other than `@message` (JavaScript's regex engine), `fields`, `stats` with
 * `count(*)`, `sum`, `min`, `max` `by` fields, `sort` (ignored: the code orders rows itself) and `limit`.
 * Expressions: integer literals, fields, `+ - * /`, parentheses, `coalesce`, `greatest`, `least`, `strlen`,
 * `floor`, `toMillis(@timestamp)`.
 *
 * What it cannot know, and assumes: arithmetic, `greatest`, `least` and `strlen` with a missing operand give
 * missing (as the query's comments state), aggregates skip missing values, `sum` of only missing values is
 * missing, numbers print as JavaScript prints them, times as `YYYY-MM-DD HH:MM:SS.mmm`. `parse @message`
 * commands are answered by the caller (from the raw message's regexes, or from a record already read).
 */

export type Value = string | number | null;
/** A request body stands in as its length in code points (what strlen gives) when there is no text. */
export interface Measured {
  readonly codePoints: number;
}
export type Event = Record<string, Value | Measured | undefined> & { "@timestamp": number };

type Expr =
  | { kind: "num"; value: number }
  | { kind: "field"; name: string }
  | { kind: "call"; name: string; args: Expr[] }
  | { kind: "bin"; op: string; left: Expr; right: Expr };

function tokenize(text: string): string[] {
  const tokens = text.match(/@?[A-Za-z_][\w.]*|\d+|\*|[-+/(),]|\S/g);
  return tokens ?? [];
}

const parsed = new Map<string, Expr>();

/** An expression's tree, parsed once per text. */
function parseExpr(text: string): Expr {
  let e = parsed.get(text);
  if (!e) {
    e = parseExprText(text);
    parsed.set(text, e);
  }
  return e;
}

function parseExprText(text: string): Expr {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++] as string;
  const primary = (): Expr => {
    const t = next();
    if (t === "(") {
      const e = sum();
      if (next() !== ")") throw new Error(`expected ) in ${text}`);
      return e;
    }
    if (t === "-") {
      const e = primary();
      return { kind: "bin", op: "-", left: { kind: "num", value: 0 }, right: e };
    }
    if (/^\d+$/.test(t)) return { kind: "num", value: Number(t) };
    if (peek() === "(") {
      next();
      const args: Expr[] = [];
      if (peek() === "*") {
        next();
        args.push({ kind: "field", name: "*" });
      } else if (peek() !== ")") {
        args.push(sum());
        while (peek() === ",") {
          next();
          args.push(sum());
        }
      }
      if (next() !== ")") throw new Error(`expected ) after arguments in ${text}`);
      return { kind: "call", name: t, args };
    }
    return { kind: "field", name: t };
  };
  const product = (): Expr => {
    let e = primary();
    while (peek() === "*" || peek() === "/") e = { kind: "bin", op: next(), left: e, right: primary() };
    return e;
  };
  const sum = (): Expr => {
    let e = product();
    while (peek() === "+" || peek() === "-") e = { kind: "bin", op: next(), left: e, right: product() };
    return e;
  };
  const e = sum();
  if (i !== tokens.length) throw new Error(`unexpected ${tokens[i]} in ${text}`);
  return e;
}

const asNumber = (v: Value | Measured | undefined): number | null => {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return v;
  if (typeof v === "string") return /^\d+$/.test(v) ? Number(v) : null;
  return null;
};

type Compiled = (ev: Event) => Value | Measured;
const compiled = new WeakMap<Expr, Compiled>();

/** An expression as a function of the event, built once per expression (the benchmarks run millions). */
function compile(e: Expr): Compiled {
  const known = compiled.get(e);
  if (known) return known;
  let f: Compiled;
  switch (e.kind) {
    case "num": {
      const v = e.value;
      f = () => v;
      break;
    }
    case "field": {
      const name = e.name;
      f = (ev) => ev[name] ?? null;
      break;
    }
    case "bin": {
      const left = compile(e.left);
      const right = compile(e.right);
      const op = e.op;
      f = (ev) => {
        const a = asNumber(left(ev));
        const b = asNumber(right(ev));
        if (a === null || b === null) return null;
        return op === "+" ? a + b : op === "-" ? a - b : op === "*" ? a * b : a / b;
      };
      break;
    }
    case "call": {
      const args = e.args.map(compile);
      switch (e.name) {
        case "toMillis":
          f = (ev) => ev["@timestamp"];
          break;
        case "coalesce":
          f = (ev) => {
            for (const a of args) {
              const v = a(ev);
              if (v !== null) return v;
            }
            return null;
          };
          break;
        case "greatest":
        case "least": {
          const max = e.name === "greatest";
          f = (ev) => {
            let out: number | null = null;
            for (const a of args) {
              const n = asNumber(a(ev));
              if (n === null) return null;
              out = out === null ? n : max ? Math.max(out, n) : Math.min(out, n);
            }
            return out;
          };
          break;
        }
        case "strlen": {
          const [arg] = args;
          f = (ev) => {
            const a = arg ? arg(ev) : null;
            if (a === null) return null;
            if (typeof a === "object") return a.codePoints;
            return [...String(a)].length;
          };
          break;
        }
        case "floor": {
          const [arg] = args;
          f = (ev) => {
            const n = arg ? asNumber(arg(ev)) : null;
            return n === null ? null : Math.floor(n);
          };
          break;
        }
        default:
          throw new Error(`function ${e.name} is not emulated`);
      }
      break;
    }
  }
  compiled.set(e, f);
  return f;
}

const evaluate = (e: Expr, ev: Event): Value | Measured => compile(e)(ev);

/** Splits at top-level commas (not inside parentheses or brackets). */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(" || c === "[") depth++;
    else if (c === ")" || c === "]") depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

function test(condition: string, ev: Event): boolean {
  const ors = condition.split(/ or /);
  return ors.some((or) =>
    or.split(/ and /).every((c) => {
      const inList = /^(\w+) (not in|in) \[(.*)\]$/.exec(c.trim());
      if (inList) {
        const ids = (inList[3] ?? "").match(/"([^"]*)"/g)?.map((s) => s.slice(1, -1)) ?? [];
        const has = ids.includes(String(ev[inList[1] ?? ""] ?? ""));
        return inList[2] === "in" ? has : !has;
      }
      const cmp = /^(.+?) (>=|<=|>|<|=) (.+)$/.exec(c.trim());
      if (!cmp) throw new Error(`condition ${c} is not emulated`);
      const a = asNumber(evaluate(parseExpr(cmp[1] ?? ""), ev) as Value);
      const b = asNumber(evaluate(parseExpr(cmp[3] ?? ""), ev) as Value);
      if (a === null || b === null) return false;
      switch (cmp[2]) {
        case ">=":
          return a >= b;
        case "<=":
          return a <= b;
        case ">":
          return a > b;
        case "<":
          return a < b;
        default:
          return a === b;
      }
    }),
  );
}

const insightsTime = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace("Z", "");

const show = (v: Value | Measured | undefined): string =>
  v === null || v === undefined ? "" : typeof v === "object" ? String(v.codePoints) : String(v);

/**
 * Runs `query` over events. `parseMessage` answers `parse @message` commands (fields to set on the event);
 * return `{}` when the events already carry what those commands capture.
 */
export function interpret(
  query: string,
  events: readonly Event[],
  parseMessage: (ev: Event, regex: string) => Record<string, string | undefined>,
): Record<string, string>[] {
  const commands = query.split("\n").map((l) => l.replace(/^\| /, ""));
  let rows: Event[] = events.map((e) => ({ ...e }));
  /** The columns of the rows once `stats` has run (then later commands work on its rows). */
  let columns: string[] | null = null;
  let limit = 10_000;
  for (const command of commands) {
    const [verb = "", ...restWords] = command.split(" ");
    const rest = restWords.join(" ");
    if (verb === "filter") rows = rows.filter((ev) => test(rest, ev));
    else if (verb === "parse") {
      const m = /^(\S+) \/(.*)\/$/.exec(rest);
      if (!m) throw new Error(`parse ${rest} is not emulated`);
      const [, field = "", source = ""] = m;
      for (const ev of rows) {
        const found =
          field === "@message"
            ? parseMessage(ev, source)
            : (new RegExp(source).exec(show(ev[field]))?.groups ?? {});
        for (const [k, v] of Object.entries(found)) if (v !== undefined) ev[k] = v;
      }
    } else if (verb === "fields") {
      const items = splitTop(rest).map((item) => {
        const m = /^(.*) as (\w+)$/.exec(item);
        return m ? { expr: parseExpr(m[1] ?? ""), name: m[2] ?? "" } : { expr: parseExpr(item), name: item };
      });
      for (const ev of rows) {
        // Each expression sees the event as it was before this command (Insights evaluates them together).
        const values = items.map((it) => evaluate(it.expr, ev));
        items.forEach((it, k) => {
          ev[it.name] = values[k] as Value | Measured;
        });
      }
    } else if (verb === "stats") {
      const [aggText = "", byText = ""] = rest.split(/ by /);
      const by = byText.split(",").map((s) => s.trim());
      const aggs = splitTop(aggText).map((item) => {
        const m = /^(\w+)\((.*)\) as (\w+)$/.exec(item);
        if (!m) throw new Error(`aggregate ${item} is not emulated`);
        return {
          fn: m[1] ?? "",
          arg: m[2] === "*" || m[2] === "@timestamp" ? null : parseExpr(m[2] ?? ""),
          time: m[2] === "@timestamp",
          name: m[3] ?? "",
        };
      });
      const groups = new Map<string, { keys: Record<string, string>; values: (number | null)[] }>();
      for (const ev of rows) {
        const keys = Object.fromEntries(by.map((b) => [b, show(ev[b])]));
        const id = JSON.stringify(by.map((b) => keys[b]));
        const g = groups.get(id) ?? { keys, values: aggs.map(() => null) };
        aggs.forEach((a, k) => {
          const before = g.values[k] ?? null;
          const v =
            a.fn === "count" ? 1 : a.time ? ev["@timestamp"] : asNumber(evaluate(a.arg as Expr, ev) as Value);
          if (v === null) return;
          g.values[k] =
            before === null
              ? v
              : a.fn === "count" || a.fn === "sum"
                ? before + v
                : a.fn === "max"
                  ? Math.max(before, v)
                  : Math.min(before, v);
        });
        groups.set(id, g);
      }
      columns = [...by, ...aggs.map((a) => a.name)];
      rows = [...groups.values()].map((g) => {
        const row: Event = { "@timestamp": 0 };
        for (const [k, v] of Object.entries(g.keys)) if (v !== "") row[k] = v;
        aggs.forEach((a, k) => {
          const v = g.values[k] ?? null;
          if (v !== null) row[a.name] = a.time ? insightsTime(v) : String(v);
        });
        return row;
      });
    } else if (verb === "limit") limit = Number(rest);
    else if (verb !== "sort") throw new Error(`command ${verb} is not emulated`);
  }
  const shown = columns;
  return rows.slice(0, limit).map((ev) =>
    Object.fromEntries(
      Object.entries(ev)
        .filter(([k, v]) => (shown === null || shown.includes(k)) && show(v) !== "")
        .map(([k, v]) => [k, show(v)]),
    ),
  );
}
