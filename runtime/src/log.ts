/**
 * The logger of every Pulsebridge process: JSON lines for journald and log shippers, or pino-pretty for a
 * person at a terminal. Components get children whose namespace mirrors their folder, e.g.
 * `log.child({ ns: 'broker/embedded' })`.
 */
import { Type, type Static } from '@sinclair/typebox';
import { pino, destination as fdDestination, type DestinationStream, type Logger } from 'pino';
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
 * A safety net: components do not log secrets, but an options object logged while debugging must not leak
 * an agent secret, a broker password, a client secret or a token.
 */
const REDACTED_PATHS = [
  'password',
  'secret',
  'token',
  'clientSecret',
  'client_secret',
  'refresh_token',
  'access_token',
  '*.password',
  '*.secret',
  '*.token',
  '*.clientSecret',
  '*.client_secret',
  '*.refresh_token',
  '*.access_token',
  'hub.password',
  'connection.password',
  'options.connection.password',
  'headers.authorization',
  'req.headers.authorization',
];

export interface CreateLoggerOptions {
  /** The process: `pulsebridge-agent`, `pulsebridge-hub`. */
  name: string;
  level: LogConfig['level'];
  /** Defaults to whether standard output is a terminal. */
  pretty?: boolean | undefined;
  /** Defaults to standard output. */
  destination?: DestinationStream | undefined;
}

export function createLogger(options: CreateLoggerOptions): Logger {
  const settings = { name: options.name, level: options.level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  const usePretty = options.pretty ?? (options.destination === undefined && process.stdout.isTTY === true);
  if (usePretty) {
    const stream = pretty({
      colorize: options.destination === undefined && pretty.isColorSupported,
      sync: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,name',
      destination: options.destination ?? 1,
    });
    return pino(settings, stream);
  }
  return pino(settings, options.destination ?? fdDestination({ dest: 1, sync: true }));
}
