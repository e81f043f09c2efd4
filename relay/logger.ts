/**
 * Structured logs (X03 §3): one JSON line per event with `ts`, `level` (as a word), `logger`, `msg` and the
 * event's fields. No pid/hostname noise. Components log through `logger.child({ logger: 'relay.<part>' })`.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger } from 'pino';

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: null,
    messageKey: 'msg',
    timestamp: () => `,"ts":"${new Date().toISOString()}"`,
    formatters: { level: (label: string) => ({ level: label }) }
  };
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that drops everything, for tests and embedding. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
