import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
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

/**
 * Deletes the own `__proto__` properties JSON.parse creates, which Value.Clean keeps (it looks the key up
 * with `in`, where every object has one). Once they are gone, a cleaned value is only as deep as its schema.
 */
function withoutProtoKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    for (const item of value) withoutProtoKeys(item);
  } else if (typeof value === 'object' && value !== null) {
    if (Object.hasOwn(value, '__proto__')) delete (value as Record<string, unknown>)['__proto__'];
    for (const item of Object.values(value)) withoutProtoKeys(item);
  }
  return value;
}

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
  // Unknown properties pass the check (a newer agent may send more), but only the known ones go on: an
  // unchecked value nested deep enough makes JSON.stringify throw in whatever stores or logs the message.
  return withoutProtoKeys(Value.Clean(MESSAGE_KINDS[kind].schema, validator.check(value))) as JsonMessage<K>;
}

export function encodeJsonMessage<K extends JsonKind>(_kind: K, message: JsonMessage<K>): Buffer {
  return Buffer.from(JSON.stringify(message));
}
