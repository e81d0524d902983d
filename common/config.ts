// Configuration from environment variables: every setting declared once with its default and doc,
// validated at start so that a bad value stops the process with a message naming the variable.

export interface Setting<T> {
  readonly env: string;
  readonly doc: string;
  readonly defaultText: string;
  parse(raw: string | undefined): T;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
  }
}

function setting<T>(env: string, doc: string, defaultValue: T | undefined, parseRaw: (raw: string) => T): Setting<T> {
  return {
    env,
    doc,
    defaultText: defaultValue === undefined ? "(required)" : String(defaultValue),
    parse(raw) {
      if (raw === undefined || raw === "") {
        if (defaultValue === undefined) throw new Error("is required");
        return defaultValue;
      }
      return parseRaw(raw);
    },
  };
}

export function str(env: string, defaultValue: string | undefined, doc: string): Setting<string> {
  return setting(env, doc, defaultValue, (raw) => raw);
}

export function int(env: string, defaultValue: number, doc: string, range: { min?: number; max?: number } = {}): Setting<number> {
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = range;
  return setting(env, doc, defaultValue, (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error(`must be an integer, got ${JSON.stringify(raw)}`);
    const value = Number(raw);
    if (value < min || value > max) throw new Error(`must be in [${min}, ${max}], got ${value}`);
    return value;
  });
}

export function num(env: string, defaultValue: number, doc: string, range: { min?: number; max?: number } = {}): Setting<number> {
  const { min = -Infinity, max = Infinity } = range;
  return setting(env, doc, defaultValue, (raw) => {
    const value = Number(raw.trim());
    if (raw.trim() === "" || !Number.isFinite(value)) throw new Error(`must be a number, got ${JSON.stringify(raw)}`);
    if (value < min || value > max) throw new Error(`must be in [${min}, ${max}], got ${value}`);
    return value;
  });
}

export function port(env: string, defaultValue: number, doc: string): Setting<number> {
  return int(env, defaultValue, doc, { min: 0, max: 65535 });
}

export function bool(env: string, defaultValue: boolean, doc: string): Setting<boolean> {
  return setting(env, doc, defaultValue, (raw) => {
    const v = raw.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off"].includes(v)) return false;
    throw new Error(`must be a boolean (true/false), got ${JSON.stringify(raw)}`);
  });
}

export function oneOf<const T extends string>(env: string, defaultValue: T, values: readonly T[], doc: string): Setting<T> {
  return setting(env, doc, defaultValue, (raw) => {
    // An allowed "" (unset: fall back to another setting) is never raw here; listing it would read as ", a, b".
    if (!(values as readonly string[]).includes(raw)) throw new Error(`must be one of ${values.filter((v) => v !== "").join(", ")}, got ${JSON.stringify(raw)}`);
    return raw as T;
  });
}

export type Schema = Record<string, Setting<unknown>>;
export type ConfigOf<S extends Schema> = { readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

/** Reads every setting of the schema; throws one ConfigError listing all bad variables. */
export function loadConfig<S extends Schema>(schema: S, env: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, s] of Object.entries(schema)) {
    try {
      out[key] = s.parse(env[s.env]);
    } catch (err) {
      problems.push(`${s.env} ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as ConfigOf<S>;
}

/** A Markdown table of a schema, for the README. */
export function describeConfig(schema: Schema): string {
  const rows = Object.values(schema).map((s) => `| \`${s.env}\` | \`${s.defaultText}\` | ${s.doc} |`);
  return ["| variable | default | meaning |", "|---|---|---|", ...rows].join("\n");
}
