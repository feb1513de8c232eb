/**
 * Structured JSON logs through pino, one line each: debug and info on stdout, warnings and errors on stderr. The
 * interface is the small one Apollo Server and ApolloGateway also log through (`logger.warn(message)`), with an
 * optional object of fields.
 */
import { pino } from 'pino';
import { choice, type SettingGroup } from './settings.js';
import { traceFields } from './telemetry/tracing.js';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function jsonLogger(level: LogLevel = 'info', service = 'gateway'): Logger {
  const log = pino(
    // Inside a traced request, each line names its trace and span (telemetry/tracing.ts): a line leads to its trace.
    { level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) }, mixin: traceFields },
    pino.multistream([{ level: 'debug', stream: process.stdout }, { level: 'warn', stream: process.stderr }], { dedupe: true }),
  );
  const at = (method: 'debug' | 'info' | 'warn' | 'error') => (msg: unknown, fields?: Record<string, unknown>) => {
    if (fields) log[method](fields, String(msg));
    else log[method](String(msg));
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export const LOG_SETTINGS = {
  level: choice('LOG_LEVEL', LOG_LEVELS, { default: 'info', doc: 'pino JSON lines: debug and info on stdout, warnings and errors on stderr' }),
} satisfies SettingGroup;
