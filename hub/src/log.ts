/**
 * The hub's logger: JSON lines for log shippers, or pino-pretty for a person at a terminal. Components take
 * children whose namespace mirrors their folder, e.g. `log.child({ ns: 'broker/embedded' })`.
 */
import { Type, type Static } from '@sinclair/typebox';
import { destination as fileDestination, pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

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
 * A safety net: components do not log secrets, but an options object logged while debugging must not leak
 * an agent secret, a broker password or the admin token.
 */
const REDACTED_PATHS = [
  'password',
  'secret',
  'token',
  'adminToken',
  '*.password',
  '*.secret',
  '*.token',
  '*.adminToken',
  'headers.authorization',
  'req.headers.authorization',
];

export interface CreateLoggerOptions {
  level: LogConfig['level'];
  pretty?: boolean | undefined;
  /** Defaults to standard output. */
  destination?: DestinationStream | undefined;
}

function baseOptions(level: LogConfig['level']): LoggerOptions {
  return { name: 'pulsebridge-hub', level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
}

/**
 * pino-pretty is a development dependency: a production install may not have it, and then the hub logs JSON
 * rather than failing to start.
 */
export async function createLogger(options: CreateLoggerOptions): Promise<Logger> {
  const pretty = options.pretty ?? (options.destination === undefined && process.stdout.isTTY === true);
  if (pretty) {
    try {
      const { default: prettyStream } = await import('pino-pretty');
      const stream = prettyStream({
        colorize: options.destination === undefined && prettyStream.isColorSupported,
        sync: true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,name',
        destination: options.destination ?? 1,
      });
      return pino(baseOptions(options.level), stream);
    } catch (err) {
      const log = pino(baseOptions(options.level), options.destination ?? fileDestination({ dest: 1, sync: true }));
      log.warn({ err: (err as Error).message }, 'pino-pretty is not installed; logging JSON');
      return log;
    }
  }
  return pino(baseOptions(options.level), options.destination ?? fileDestination({ dest: 1, sync: true }));
}
