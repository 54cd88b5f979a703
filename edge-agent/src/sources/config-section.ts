/**
 * How a source checks its configuration section: the TypeBox schema first, then, for a value the schema
 * accepts, the component's own rules (cross-field rules, formats no schema expresses). Problems read
 * `${path}/field: what is wrong`, as the agent's config loader reports them.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { ConfigError } from '@pulsebridge/runtime';

export type ConfigRules<S extends TSchema> = (config: Static<S>, path: string) => string[];

const checkers = new WeakMap<TSchema, TypeCheck<TSchema>>();

function checkerOf(schema: TSchema): TypeCheck<TSchema> {
  let checker = checkers.get(schema);
  if (!checker) {
    checker = TypeCompiler.Compile(schema);
    checkers.set(schema, checker);
  }
  return checker;
}

/** Every problem of `value`: the schema's, or when it has none, the component's rules. */
export function sectionProblems<S extends TSchema>(schema: S, value: unknown, rules?: ConfigRules<S>, path = ''): string[] {
  const problems = [...checkerOf(schema).Errors(value)].map((e) => `${path}${e.path || '/'}: ${e.message}`);
  if (problems.length > 0 || !rules) return problems;
  return rules(value as Static<S>, path);
}

/** Fills defaults and checks; throws one ConfigError listing every problem. For tests and tools that build one source. */
export function parseSection<S extends TSchema>(schema: S, input: unknown, rules?: ConfigRules<S>): Static<S> {
  const value: unknown = Value.Default(schema, Value.Clone(input ?? {}));
  const problems = sectionProblems(schema, value, rules);
  if (problems.length > 0) throw new ConfigError(problems);
  return value as Static<S>;
}
