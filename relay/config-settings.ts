/**
 * The bridge's settings, one table row each: TOML key, environment variable, flag, parser and default. The
 * loader (config.ts), the usage text and the error messages are all derived from this table, so a setting
 * cannot be accepted in one place and forgotten in another.
 */
import { isIP } from 'node:net';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A relay frame is at most 64 KiB (P); a socket message must fit one plus its envelope. */
export const MIN_MESSAGE_BYTES = 66_560;
/** An mDNS instance label is at most 63 bytes and ours is `<name>-XXXX`. */
export const MAX_NAME_LENGTH = 58;

export type SettingValue = string | number | boolean | null;

/** Parses a raw value; `fromText` is true for env and flags, where everything arrives as a string. */
export type Parser = (raw: unknown, fromText: boolean) => { ok: true; value: SettingValue } | { ok: false };

export interface Setting {
  /** Dotted TOML key, also the name used in messages. */
  key: string;
  env: string;
  flag: string;
  /** What is accepted, phrased to follow "must be". */
  expected: string;
  parse: Parser;
  /** Relative paths are resolved against the config file's folder (file) or the working directory (env, flag). */
  isPath?: boolean;
  isBoolean?: boolean;
  help: string;
}

function integerIn(min: number, max: number): Parser {
  return (raw, fromText) => {
    let value = raw;
    if (fromText && typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw)) value = Number(raw);
    // smol-toml gives bigint for integers beyond 2^53; they are out of every range here anyway.
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return { ok: true, value };
    return { ok: false };
  };
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);

const boolean: Parser = (raw, fromText) => {
  if (typeof raw === 'boolean') return { ok: true, value: raw };
  if (fromText && typeof raw === 'string') {
    const word = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return { ok: true, value: true };
    if (FALSE_WORDS.has(word)) return { ok: true, value: false };
  }
  return { ok: false };
};

function oneOf(values: readonly string[]): Parser {
  return (raw) => (typeof raw === 'string' && values.includes(raw) ? { ok: true, value: raw } : { ok: false });
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

const host: Parser = (raw) =>
  typeof raw === 'string' && (isIP(raw) !== 0 || HOSTNAME.test(raw)) ? { ok: true, value: raw } : { ok: false };

const ipv4: Parser = (raw) => (typeof raw === 'string' && isIP(raw) === 4 ? { ok: true, value: raw } : { ok: false });

/** An http(s) URL without credentials, e.g. an OpenAI-compatible model server. */
const httpUrl: Parser = (raw) => {
  if (typeof raw !== 'string') return { ok: false };
  try {
    const url = new URL(raw);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '' ? { ok: true, value: raw } : { ok: false };
  } catch {
    return { ok: false };
  }
};

const path: Parser = (raw) =>
  typeof raw === 'string' && raw.length > 0 && !raw.includes('\0') ? { ok: true, value: raw } : { ok: false };

// Dots would be read as label separators in the mDNS instance name; control characters have no place in a name.
const displayName: Parser = (raw) =>
  typeof raw === 'string' && raw.trim().length > 0 && raw.length <= MAX_NAME_LENGTH && !/[.\p{Cc}]/u.test(raw)
    ? { ok: true, value: raw.trim() }
    : { ok: false };

export const SETTINGS: readonly Setting[] = [
  { key: 'host', env: 'HEARTHNET_HOST', flag: '--host', expected: 'an IP address or host name', parse: host, help: 'address to listen on (default 0.0.0.0)' },
  { key: 'port', env: 'HEARTHNET_PORT', flag: '--port', expected: 'an integer 0-65535', parse: integerIn(0, 65535), help: 'HTTP port; 0 picks a free one (default 7080)' },
  { key: 'https_port', env: 'HEARTHNET_HTTPS_PORT', flag: '--https-port', expected: 'an integer 0-65535 (0 disables HTTPS)', parse: integerIn(0, 65535), help: 'HTTPS port; 0 disables HTTPS (default 7443)' },
  { key: 'data_dir', env: 'HEARTHNET_DATA_DIR', flag: '--data-dir', expected: 'a non-empty path', parse: path, isPath: true, help: 'keys and generated certificate (default ./.hearthnet)' },
  { key: 'app_dir', env: 'HEARTHNET_APP_DIR', flag: '--app-dir', expected: 'a non-empty path', parse: path, isPath: true, help: 'built web app to serve (default ./build)' },
  { key: 'name', env: 'HEARTHNET_NAME', flag: '--name', expected: `1-${MAX_NAME_LENGTH} characters without dots or control characters`, parse: displayName, help: 'display name of this bridge (default: host name)' },
  { key: 'log_level', env: 'HEARTHNET_LOG_LEVEL', flag: '--log-level', expected: `one of ${LOG_LEVELS.join('|')}`, parse: oneOf(LOG_LEVELS), help: 'log level (default info)' },
  { key: 'tls_cert', env: 'HEARTHNET_TLS_CERT', flag: '--tls-cert', expected: 'a non-empty path', parse: path, isPath: true, help: 'operator TLS certificate (PEM); default: self-signed in data_dir' },
  { key: 'tls_key', env: 'HEARTHNET_TLS_KEY', flag: '--tls-key', expected: 'a non-empty path', parse: path, isPath: true, help: 'operator TLS private key (PEM)' },
  { key: 'mdns.enabled', env: 'HEARTHNET_MDNS', flag: '--mdns', expected: 'a boolean (true|false, 1|0, yes|no, on|off)', parse: boolean, isBoolean: true, help: 'announce and browse on mDNS (--no-mdns turns it off)' },
  { key: 'mdns.interface', env: 'HEARTHNET_MDNS_INTERFACE', flag: '--mdns-interface', expected: 'an IPv4 address', parse: ipv4, help: 'send mDNS only on the interface with this address (tests: 127.0.0.1)' },
  { key: 'llm.server_url', env: 'HEARTHNET_LLM_SERVER_URL', flag: '--llm-server-url', expected: 'an http(s) URL such as http://127.0.0.1:11434/v1', parse: httpUrl, help: 'OpenAI-compatible model server (Ollama, llama.cpp, LM Studio, vLLM) the bridge offers to its communities' },
  { key: 'models.dir', env: 'HEARTHNET_MODELS_DIR', flag: '--models-dir', expected: 'a non-empty path', parse: path, isPath: true, help: 'serve this folder of model files (Hugging Face layout) at /models/; default: no mirror' },
  { key: 'limits.max_clients', env: 'HEARTHNET_MAX_CLIENTS', flag: '--max-clients', expected: 'an integer 1-100000', parse: integerIn(1, 100_000), help: 'most WebSocket clients at once (default 1000)' },
  { key: 'limits.max_message_bytes', env: 'HEARTHNET_MAX_MESSAGE_BYTES', flag: '--max-message-bytes', expected: `an integer ${MIN_MESSAGE_BYTES}-16777216`, parse: integerIn(MIN_MESSAGE_BYTES, 16 * 1024 * 1024), help: 'largest socket message (default 131072)' },
  { key: 'limits.messages_per_second', env: 'HEARTHNET_MESSAGES_PER_SECOND', flag: '--messages-per-second', expected: 'an integer 1-100000', parse: integerIn(1, 100_000), help: 'per-client message budget (default 400)' }
];

/** Defaults that need no knowledge of the machine; `name` defaults to the host name and paths to cwd. */
export const STATIC_DEFAULTS: Readonly<Record<string, SettingValue>> = {
  host: '0.0.0.0',
  port: 7080,
  https_port: 7443,
  data_dir: '.hearthnet',
  app_dir: 'build',
  log_level: 'info',
  tls_cert: null,
  tls_key: null,
  'mdns.enabled': true,
  'mdns.interface': null,
  'llm.server_url': null,
  'models.dir': null,
  'limits.max_clients': 1000,
  'limits.max_message_bytes': 131_072,
  'limits.messages_per_second': 400
};

/** The default display name: the first label of the host name, cut to fit an mDNS instance name. */
export function defaultNameFromHostname(hostname: string): string {
  const label = hostname.split('.')[0].replace(/\p{Cc}/gu, '').trim();
  return (label || 'hearthnet-bridge').slice(0, MAX_NAME_LENGTH);
}
