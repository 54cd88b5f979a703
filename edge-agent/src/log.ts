/**
 * The agent's logger: JSON lines for journald and log shippers, or pino-pretty for a person at a terminal.
 * Components get children with a namespace that mirrors their folder, e.g. `log.child({ ns: 'uplink' })`.
 */
import { Type, type Static } from '@sinclair/typebox';
import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const LogConfig = Type.Object(
  {
    level: Type.Union(
      LOG_LEVELS.map((level) => Type.Literal(level)),
      { default: 'info', description: 'least severe level written' },
    ),
    pretty: Type.Optional(Type.Boolean({ description: 'human-readable lines instead of JSON; default: when standard output is a terminal' })),
  },
  { additionalProperties: false, default: {} },
);
export type LogConfig = Static<typeof LogConfig>;

/**
 * Where a secret could end up in a logged object. A safety net: components do not log secrets to begin
 * with, but a whole options object logged while debugging must not leak one.
 */
const REDACTED_PATHS = ['password', 'secret', 'token', '*.password', '*.secret', '*.token', 'hub.password', 'connection.password', 'options.connection.password'];

export interface CreateLoggerOptions {
  level: LogConfig['level'];
  pretty: boolean;
  /** Defaults to standard output. */
  destination?: DestinationStream | undefined;
}

export function createLogger(options: CreateLoggerOptions): Logger {
  const settings: pino.LoggerOptions = {
    name: 'pulsebridge-agent',
    level: options.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  if (options.pretty) {
    const stream = pretty({ colorize: options.destination === undefined && pretty.isColorSupported, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name', destination: options.destination ?? 1 });
    return pino(settings, stream);
  }
  return pino(settings, options.destination ?? pino.destination({ dest: 1, sync: true }));
}
