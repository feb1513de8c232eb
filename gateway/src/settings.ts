/**
 * How a feature declares its settings, once: each key with its kind, default, range and unit, and a line of doc.
 * config.ts reads every declared key from the environment in one pass, collecting every problem before it gives up;
 * gateway/SETTINGS.md is generated from the same declarations (`npm run settings-doc`, kept current by a test).
 *
 * Names follow one pattern, `<AREA>_[MAX_]<WHAT>[_<UNIT>]`, units spelled out (`_MS`, `_SECONDS`, `_BYTES`). A key
 * renamed to fit keeps working under its old name (`formerly`), with a deprecation warning naming the new one.
 */

export interface ReadContext {
  /** `development` or `production` (GATEWAY_MODE): some defaults depend on it. */
  mode: 'development' | 'production';
  /** The process's working directory: relative paths are resolved against it. */
  cwd: string;
}

export interface Setting<T> {
  key: string;
  /** What the docs show as the default. */
  defaultText: string;
  /** What the docs show as the values it takes. */
  valuesText: string;
  doc: string;
  /** Former names, still read (with a warning); `fromFormer` turns an old value into the new key's. */
  formerly?: readonly string[];
  fromFormer?: (raw: string) => string;
  /** Reads the raw value (undefined when unset or empty); a bad one is a problem, and the default stands. */
  parse(raw: string | undefined, context: ReadContext, problem: (message: string) => void): T;
}

/** Keys named by a pattern (`SUBGRAPH_<NAME>_URL`, shown as `key` in the docs), read into values by name. */
export interface FamilySetting<T> extends Setting<T> {
  pattern: RegExp;
}

/** A feature's settings by name. */
export type SettingGroup = Record<string, Setting<any>>;
export type SettingValues<G extends SettingGroup> = {
  [K in keyof G]: G[K] extends FamilySetting<infer T> ? Record<string, T> : G[K] extends Setting<infer T> ? T : never;
};

type Default<T> = T | ((context: ReadContext) => T);
const resolve = <T>(value: Default<T>, context: ReadContext): T => (typeof value === 'function' ? (value as (c: ReadContext) => T)(context) : value);

interface Common<T> {
  default: Default<T>;
  /** How the default reads in the docs, when it depends on something. */
  defaultText?: string;
  doc: string;
  formerly?: readonly string[];
  fromFormer?: (raw: string) => string;
}

const UNIT_WORDS: Record<string, string> = { ms: 'milliseconds', seconds: 'seconds', bytes: 'bytes', percent: '%', operations: '' };

export function integer(key: string, options: Common<number> & { min: number; max: number; unit?: keyof typeof UNIT_WORDS }): Setting<number> {
  const unit = options.unit ? ` ${UNIT_WORDS[options.unit]}`.trimEnd() : '';
  return {
    key,
    defaultText: options.defaultText ?? String(options.default),
    valuesText: `${options.min} to ${options.max}${unit}`,
    doc: options.doc,
    ...(options.formerly ? { formerly: options.formerly } : {}),
    ...(options.fromFormer ? { fromFormer: options.fromFormer } : {}),
    parse(raw, context, problem) {
      if (raw === undefined) return resolve(options.default, context);
      const value = Number(raw);
      if (!Number.isInteger(value) || value < options.min || value > options.max) {
        problem(`${key} must be a whole number from ${options.min} to ${options.max}${unit}, got "${raw}"`);
        return resolve(options.default, context);
      }
      return value;
    },
  };
}

export function boolean(key: string, options: Common<boolean>): Setting<boolean> {
  return {
    key,
    defaultText: options.defaultText ?? String(options.default),
    valuesText: 'true or false',
    doc: options.doc,
    ...(options.formerly ? { formerly: options.formerly } : {}),
    parse(raw, context, problem) {
      if (raw === undefined) return resolve(options.default, context);
      const lower = raw.toLowerCase();
      if (['true', '1', 'on', 'yes'].includes(lower)) return true;
      if (['false', '0', 'off', 'no'].includes(lower)) return false;
      problem(`${key} must be true or false, got "${raw}"`);
      return resolve(options.default, context);
    },
  };
}

export function choice<const T extends string>(key: string, values: readonly T[], options: Common<NoInfer<T>>): Setting<T> {
  return {
    key,
    defaultText: options.defaultText ?? String(options.default),
    valuesText: values.join(', '),
    doc: options.doc,
    ...(options.formerly ? { formerly: options.formerly } : {}),
    parse(raw, context, problem) {
      if (raw === undefined) return resolve(options.default, context);
      if ((values as readonly string[]).includes(raw)) return raw as T;
      problem(`${key} must be one of ${values.join(', ')}, got "${raw}"`);
      return resolve(options.default, context);
    },
  };
}

/** One of `values`, or null when unset: its default depends on other keys, so whoever reads it decides. */
export function optionalChoice<const T extends string>(key: string, values: readonly T[], options: Omit<Common<NoInfer<T>>, "default"> & { defaultText: string }): Setting<T | null> {
  const chosen = choice(key, values, { ...options, default: values[0]! });
  return { ...chosen, parse: (raw, context, problem) => (raw === undefined ? null : chosen.parse(raw, context, problem)) };
}

/**
 * Free text, checked by `check` (which returns a problem, or null). `secret` keeps the value out of every message:
 * it may be a password or a key.
 */
export function text<T extends string | null>(key: string, options: Common<T> & {
  values: string;
  check?: (value: string) => string | null;
  secret?: boolean;
}): Setting<T | string> {
  return {
    key,
    defaultText: options.defaultText ?? (options.default === null ? 'unset' : `\`${String(options.default)}\``),
    valuesText: options.values,
    doc: options.doc,
    ...(options.formerly ? { formerly: options.formerly } : {}),
    parse(raw, context, problem) {
      if (raw === undefined) return resolve(options.default, context);
      const bad = options.check?.(raw);
      if (bad) {
        problem(options.secret ? `${key} ${bad} (the value is not repeated here: it may be secret)` : `${key} ${bad}, got "${raw}"`);
        return resolve(options.default, context);
      }
      return raw;
    },
  };
}

/** A family of keys named by `pattern` (its first group is the name, lower-cased in the values), each read as `item`. */
export function family<T>(shown: string, pattern: RegExp, item: Setting<T>): FamilySetting<T> {
  return { ...item, key: shown, pattern };
}

export interface SettingsRead {
  problems: string[];
  /** Keys read under a former name: `[former, current]`. */
  deprecated: [string, string][];
}

/** Reads a group of settings from the environment; problems and deprecations are added to `read`. */
export function readSettings<G extends SettingGroup>(group: G, env: NodeJS.ProcessEnv, context: ReadContext, read: SettingsRead): SettingValues<G> {
  const values: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(group)) {
    const problem = (message: string) => void read.problems.push(message);
    if ('pattern' in setting) {
      const { pattern } = setting as FamilySetting<unknown>;
      const found: Record<string, unknown> = {};
      for (const [key, raw] of Object.entries(env)) {
        const match = pattern.exec(key);
        if (!match || raw === undefined || raw === '') continue;
        found[match[1]!.toLowerCase()] = setting.parse(raw, context, (message) => problem(message.replaceAll(setting.key, key)));
      }
      values[name] = found;
      continue;
    }
    let raw = nonEmpty(env[setting.key]);
    let readAs = problem;
    if (raw === undefined) {
      for (const former of setting.formerly ?? []) {
        const old = nonEmpty(env[former]);
        if (old === undefined) continue;
        read.deprecated.push([former, setting.key]);
        raw = setting.fromFormer ? setting.fromFormer(old) : old;
        readAs = (message) => problem(`${message} (set as ${former}="${old}", its former name)`);
        break;
      }
    }
    values[name] = setting.parse(raw, context, readAs);
  }
  return values as SettingValues<G>;
}

/** For a former `_MB` key: its value in bytes (anything but a whole number is left for the new key to refuse). */
export function megabytesToBytes(raw: string): string {
  return /^\d+$/.test(raw) ? String(Number(raw) * 1_048_576) : raw;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

export function isHttpUrl(value: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** A feature's settings under a title, as gateway/SETTINGS.md lists them. */
export interface SettingsSection {
  feature: string;
  settings: SettingGroup;
}

/** gateway/SETTINGS.md: one table per feature, every declared key with its default, its values and what it does. */
export function settingsMarkdown(sections: readonly SettingsSection[]): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const lines = [
    '# Gateway settings',
    '',
    'Generated from the settings each module of `gateway/src` declares (`npm run settings-doc`); a test fails when this',
    'file and the declarations disagree. Every key is read from the environment once, at start-up, and checked with the',
    'rest: a bad value, a file that cannot be read or two keys that contradict each other stop the gateway with one list',
    'of every problem. A key that looks like one of these but is not (`ENTITY_TIMOUT_MS`) is named in a warning, and a',
    'former name still works, with a warning naming the new one.',
  ];
  for (const section of sections) {
    lines.push('', `## ${section.feature}`, '', '| key | default | values | meaning |', '| --- | --- | --- | --- |');
    for (const setting of Object.values(section.settings)) {
      const formerly = setting.formerly?.length ? ` (formerly ${setting.formerly.map((key) => `\`${key}\``).join(', ')})` : '';
      lines.push(`| \`${setting.key}\` | ${cell(setting.defaultText)} | ${cell(setting.valuesText)} | ${cell(setting.doc)}${formerly} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}
