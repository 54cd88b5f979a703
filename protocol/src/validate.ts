import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ProtocolError } from './errors.ts';
import { MESSAGE_KINDS } from './topics.ts';

export interface Validator<T extends TSchema> {
  /** Returns the value typed, or throws a ProtocolError('invalid') naming the first failing path. */
  check(value: unknown): Static<T>;
  /** Every problem, each with its path: for configuration files, where the user wants all of them at once. */
  errors(value: unknown): string[];
}

export function compileValidator<T extends TSchema>(schema: T): Validator<T> {
  const compiled = TypeCompiler.Compile(schema);
  return {
    check(value) {
      if (compiled.Check(value)) return value;
      const first = compiled.Errors(value).First();
      const where = first?.path || '/';
      throw new ProtocolError('invalid', `${where}: ${first?.message ?? 'invalid value'}`);
    },
    errors(value) {
      return [...compiled.Errors(value)].map((e) => `${e.path || '/'}: ${e.message}`);
    },
  };
}

type JsonKind = { [K in keyof typeof MESSAGE_KINDS]: (typeof MESSAGE_KINDS)[K]['contentType'] extends 'application/json' ? K : never }[keyof typeof MESSAGE_KINDS];
export type JsonMessage<K extends JsonKind> = Static<(typeof MESSAGE_KINDS)[K]['schema']>;

const MAX_JSON_MESSAGE_BYTES = 256 * 1024;
const jsonValidators = new Map<string, Validator<TSchema>>();

/** Parses and validates a JSON message of one kind; throws ProtocolError with a reason. */
export function decodeJsonMessage<K extends JsonKind>(kind: K, payload: Uint8Array): JsonMessage<K> {
  if (payload.byteLength > MAX_JSON_MESSAGE_BYTES) throw new ProtocolError('too_large', `${kind} message of ${payload.byteLength} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch {
    throw new ProtocolError('malformed', `${kind} message is not JSON`);
  }
  let validator = jsonValidators.get(kind);
  if (!validator) {
    validator = compileValidator(MESSAGE_KINDS[kind].schema);
    jsonValidators.set(kind, validator);
  }
  return validator.check(value) as JsonMessage<K>;
}

export function encodeJsonMessage<K extends JsonKind>(_kind: K, message: JsonMessage<K>): Buffer {
  return Buffer.from(JSON.stringify(message));
}
