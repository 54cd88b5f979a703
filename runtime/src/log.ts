/**
 * The logger of every Pulsebridge process: JSON lines for journald and log shippers, or pino-pretty for a
 * person at a terminal. Components get children whose namespace mirrors their folder, e.g.
 * `log.child({ ns: 'broker/embedded' })`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Type, type Static } from '@sinclair/typebox';
import { trace } from '@opentelemetry/api';
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

/** Fields every line logged while a unit of work runs carries: an HTTP request's `reqId`. */
const logFields = new AsyncLocalStorage<Readonly<Record<string, unknown>>>();

/** Runs `work` so that every line any logger writes meanwhile, in any component, carries `fields`. */
export function withLogFields<T>(fields: Readonly<Record<string, unknown>>, work: () => T): T {
  return logFields.run(fields, work);
}

/**
 * What a log line gets from the work it is written for: the fields of withLogFields, and the trace and span
 * id of the active span when the process traces, so that a line is found from its trace and the other way.
 */
export function logContext(): Record<string, unknown> {
  const fields = logFields.getStore();
  const span = trace.getActiveSpan();
  if (span === undefined) return fields === undefined ? {} : { ...fields };
  const { traceId, spanId } = span.spanContext();
  return { ...fields, traceId, spanId };
}

export function createLogger(options: CreateLoggerOptions): Logger {
  const settings = { name: options.name, level: options.level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, mixin: logContext };
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
