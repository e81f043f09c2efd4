/**
 * Bridge configuration (X04): defaults < TOML file < environment < flags. `loadConfig` is a pure function of
 * its inputs (the file is read through a parameter) so every precedence rule and message is unit-testable.
 * Any problem is a ConfigError whose message is the one line the operator sees.
 */
import { hostname as osHostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { defaultNameFromHostname, SETTINGS, STATIC_DEFAULTS, type LogLevel, type Setting, type SettingValue } from './config-settings.js';

export { LOG_LEVELS, type LogLevel } from './config-settings.js';

export interface BridgeConfig {
  host: string;
  port: number;
  /** 0 disables HTTPS. */
  httpsPort: number;
  dataDir: string;
  appDir: string;
  name: string;
  logLevel: LogLevel;
  tlsCert: string | null;
  tlsKey: string | null;
  mdns: { enabled: boolean; interface: string | null };
  /** An OpenAI-compatible model server offered to every community the bridge is a member of, or null. */
  llm: { serverUrl: string | null };
  /** A folder of model files served at /models/ (model-mirror.ts), or null for no mirror. */
  models: { dir: string | null };
  limits: { maxClients: number; maxMessageBytes: number; messagesPerSecond: number };
  provenance: {
    configFile: string | null;
    /** setting key → where its value came from ("default", a file path, an env name or a flag). */
    sources: Record<string, string>;
    /** Things worth a log line that are not errors (e.g. an unknown HEARTHNET_* variable). */
    warnings: string[];
  };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(`config: ${message}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigInput {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  hostname?: string;
  /** Returns the file's text, or null when it does not exist; other read failures throw. */
  readTextFile?: (path: string) => string | null;
}

export const CONFIG_FILE_ENV = 'HEARTHNET_CONFIG';
export const CONFIG_FILE_FLAG = '--config';
export const DEFAULT_CONFIG_FILE = 'hearthnet.toml';

interface Candidate {
  value: SettingValue;
  source: string;
  /** Folder that relative paths are resolved against. */
  base: string;
}

const acceptedFlags = (): string[] => [CONFIG_FILE_FLAG, ...SETTINGS.flatMap((s) => (s.isBoolean ? [s.flag, noFlag(s)] : [s.flag]))];
const noFlag = (s: Setting): string => `--no-${s.flag.slice(2)}`;

function show(raw: unknown): string {
  if (typeof raw === 'string') return JSON.stringify(raw);
  if (typeof raw === 'bigint') return raw.toString();
  if (raw !== null && typeof raw === 'object') return JSON.stringify(raw) ?? String(raw);
  return String(raw);
}

function parseOrThrow(setting: Setting, raw: unknown, source: string, fromText: boolean): SettingValue {
  const parsed = setting.parse(raw, fromText);
  if (!parsed.ok) throw new ConfigError(`${setting.key} must be ${setting.expected} (got ${show(raw)} from ${source})`);
  return parsed.value;
}

interface FlagValue {
  setting: Setting;
  flag: string;
  raw: string;
}

function parseArgv(argv: readonly string[]): { configFile: string | null; flags: FlagValue[] } {
  const byFlag = new Map(SETTINGS.map((s) => [s.flag, s]));
  const byNoFlag = new Map(SETTINGS.filter((s) => s.isBoolean).map((s) => [noFlag(s), s]));
  const accepted = () => acceptedFlags().join(', ');
  let configFile: string | null = null;
  const flags: FlagValue[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument ${show(arg)} (accepted flags: ${accepted()})`);
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    const negated = byNoFlag.get(flag);
    if (negated) {
      if (inline !== undefined) throw new ConfigError(`${flag} takes no value (got ${show(inline)})`);
      flags.push({ setting: negated, flag, raw: 'false' });
      continue;
    }
    const setting = byFlag.get(flag);
    if (flag !== CONFIG_FILE_FLAG && !setting) throw new ConfigError(`unknown flag ${flag} (accepted: ${accepted()})`);
    if (setting?.isBoolean && inline === undefined) {
      flags.push({ setting, flag, raw: 'true' });
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new ConfigError(`${flag} needs a value`);
      raw = next;
      i++;
    }
    if (setting) flags.push({ setting, flag, raw });
    else configFile = raw;
  }
  return { configFile, flags };
}

function defaultReadTextFile(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function locateConfigFile(flagValue: string | null, env: LoadConfigInput['env'], cwd: string): { path: string; source: string; required: boolean } {
  if (flagValue !== null) return { path: resolve(cwd, flagValue), source: CONFIG_FILE_FLAG, required: true };
  const fromEnv = env[CONFIG_FILE_ENV];
  if (fromEnv) return { path: resolve(cwd, fromEnv), source: CONFIG_FILE_ENV, required: true };
  return { path: resolve(cwd, DEFAULT_CONFIG_FILE), source: 'default location', required: false };
}

/** Flattens the TOML document to dotted keys, refusing anything that is not a known setting. */
function fileCandidates(text: string, path: string): Map<string, Candidate> {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
    const where = err && typeof err === 'object' && 'line' in err ? ` at line ${(err as { line: number }).line}` : '';
    throw new ConfigError(`cannot parse ${path}${where}: ${detail}`);
  }
  const byKey = new Map(SETTINGS.map((s) => [s.key, s]));
  const tables = new Set(SETTINGS.filter((s) => s.key.includes('.')).map((s) => s.key.split('.')[0]));
  const accepted = SETTINGS.map((s) => s.key).join(', ');
  const out = new Map<string, Candidate>();
  const visit = (obj: Record<string, unknown>, prefix: string) => {
    for (const [name, raw] of Object.entries(obj)) {
      const key = prefix + name;
      if (!prefix && tables.has(name)) {
        if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
          throw new ConfigError(`${name} must be a table such as [${name}] (got ${show(raw)} from ${path})`);
        }
        visit(raw as Record<string, unknown>, `${name}.`);
        continue;
      }
      const setting = byKey.get(key);
      if (!setting) throw new ConfigError(`unknown setting ${show(key)} in ${path} (accepted: ${accepted})`);
      out.set(key, { value: parseOrThrow(setting, raw, path, false), source: path, base: dirname(path) });
    }
  };
  visit(doc, '');
  return out;
}

function envCandidates(env: LoadConfigInput['env'], cwd: string, warnings: string[]): Map<string, Candidate> {
  const out = new Map<string, Candidate>();
  for (const setting of SETTINGS) {
    const raw = env[setting.env];
    // An empty variable is how shells "unset" things in compose files and CI; treat it as absent.
    if (raw === undefined || raw === '') continue;
    out.set(setting.key, { value: parseOrThrow(setting, raw, setting.env, true), source: setting.env, base: cwd });
  }
  // The HEARTHNET_ prefix is shared with other tools (tests, the app build), so an unknown one is only a warning.
  const known = new Set([CONFIG_FILE_ENV, ...SETTINGS.map((s) => s.env)]);
  for (const name of Object.keys(env)) {
    if (name.startsWith('HEARTHNET_') && !known.has(name)) warnings.push(`ignoring unknown environment variable ${name}`);
  }
  return out;
}

function crossCheck(values: Map<string, Candidate>): void {
  const cert = values.get('tls_cert')!;
  const key = values.get('tls_key')!;
  if ((cert.value === null) !== (key.value === null)) {
    const given = cert.value === null ? `tls_key from ${key.source}` : `tls_cert from ${cert.source}`;
    throw new ConfigError(`tls_cert and tls_key must be given together (got only ${given})`);
  }
  const port = values.get('port')!;
  const httpsPort = values.get('https_port')!;
  if (port.value !== 0 && port.value === httpsPort.value) {
    throw new ConfigError(`https_port must differ from port (both ${port.value}, from ${port.source} and ${httpsPort.source})`);
  }
}

export function loadConfig(input: LoadConfigInput): BridgeConfig {
  const { argv, env, cwd } = input;
  const readTextFile = input.readTextFile ?? defaultReadTextFile;
  const warnings: string[] = [];
  const { configFile: configFlag, flags } = parseArgv(argv);

  const values = new Map<string, Candidate>();
  for (const [key, value] of Object.entries(STATIC_DEFAULTS)) values.set(key, { value, source: 'default', base: cwd });
  values.set('name', { value: defaultNameFromHostname(input.hostname ?? osHostname()), source: 'default', base: cwd });

  const located = locateConfigFile(configFlag, env, cwd);
  let text: string | null;
  try {
    text = readTextFile(located.path);
  } catch (err) {
    throw new ConfigError(`cannot read config file ${located.path} (from ${located.source}): ${(err as Error).message}`);
  }
  if (text === null && located.required) throw new ConfigError(`config file ${located.path} (from ${located.source}) does not exist`);
  if (text !== null) for (const [key, c] of fileCandidates(text, located.path)) values.set(key, c);

  for (const [key, c] of envCandidates(env, cwd, warnings)) values.set(key, c);
  for (const { setting, flag, raw } of flags) {
    values.set(setting.key, { value: parseOrThrow(setting, raw, flag, true), source: flag, base: cwd });
  }
  crossCheck(values);

  const sources: Record<string, string> = {};
  const final: Record<string, SettingValue> = {};
  for (const setting of SETTINGS) {
    const c = values.get(setting.key)!;
    sources[setting.key] = c.source;
    final[setting.key] = setting.isPath && typeof c.value === 'string' ? resolve(c.base, c.value) : c.value;
  }
  return {
    host: final.host as string,
    port: final.port as number,
    httpsPort: final.https_port as number,
    dataDir: final.data_dir as string,
    appDir: final.app_dir as string,
    name: final.name as string,
    logLevel: final.log_level as LogLevel,
    tlsCert: final.tls_cert as string | null,
    tlsKey: final.tls_key as string | null,
    mdns: { enabled: final['mdns.enabled'] as boolean, interface: final['mdns.interface'] as string | null },
    llm: { serverUrl: final['llm.server_url'] as string | null },
    models: { dir: final['models.dir'] as string | null },
    limits: {
      maxClients: final['limits.max_clients'] as number,
      maxMessageBytes: final['limits.max_message_bytes'] as number,
      messagesPerSecond: final['limits.messages_per_second'] as number
    },
    provenance: { configFile: text === null ? null : located.path, sources, warnings }
  };
}

/** `--help` text, generated from the settings table. */
export function usageText(): string {
  const rows: [string, string][] = [[`${CONFIG_FILE_FLAG} <path>`, `TOML file (or ${CONFIG_FILE_ENV}; default ./${DEFAULT_CONFIG_FILE} if present)`]];
  for (const s of SETTINGS) rows.push([s.isBoolean ? `${s.flag} / ${noFlag(s)}` : `${s.flag} <value>`, `${s.help}  [${s.env}; ${s.key}]`]);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return ['Usage: tsx relay/main.ts [flags]', '', ...rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`)].join('\n');
}
