/**
 * The steps of a workout template: an ordered list of steps and repeat blocks (a repeat may hold another
 * repeat, no deeper), each step lasting a duration or a distance, with an optional target. The schemas are
 * both the API's and the stored document's; the rules no schema expresses (exactly one of duration and
 * distance, low <= high) are checked by `stepsProblems`.
 */
import { Type, type Static } from '@sinclair/typebox';

export const STEP_KINDS = ['warmup', 'work', 'recovery', 'cooldown', 'rest'] as const;
export const MAX_STEPS_PER_LIST = 100;
export const MAX_REPEAT_COUNT = 100;

const range = (unit: string, minimum: number, maximum: number) => ({
  low: Type.Number({ minimum, maximum, description: `Lower bound, ${unit}` }),
  high: Type.Number({ minimum, maximum, description: `Upper bound, ${unit}; not below low` }),
});

export const Target = Type.Union(
  [
    Type.Object({ type: Type.Literal('hr_zone'), zone: Type.Integer({ minimum: 1, maximum: 5, description: 'Heart-rate zone 1..5' }) }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('hr_percent_max'), ...range('% of max heart rate', 30, 120) }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('power'), ...range('watts', 0, 3000) }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('power_percent_ftp'), ...range('% of FTP', 1, 300) }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('pace'), ...range('seconds per km', 60, 1800) }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('cadence'), ...range('rpm or strokes/steps per minute', 1, 250) }, { additionalProperties: false }),
  ],
  { description: 'What the athlete aims for during the step' },
);
export type Target = Static<typeof Target>;

export const Step = Type.Object(
  {
    type: Type.Literal('step'),
    kind: Type.Union(
      STEP_KINDS.map((kind) => Type.Literal(kind)),
      { description: STEP_KINDS.join(', ') },
    ),
    durationSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, description: 'How long the step lasts; give this or distanceMeters' })),
    distanceMeters: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'How far the step goes; give this or durationSeconds' })),
    target: Type.Optional(Target),
  },
  { additionalProperties: false, description: 'One step of the workout' },
);
export type Step = Static<typeof Step>;

const repeatOf = <T extends ReturnType<typeof Type.Union> | typeof Step>(inner: T, description: string) =>
  Type.Object(
    {
      type: Type.Literal('repeat'),
      count: Type.Integer({ minimum: 1, maximum: MAX_REPEAT_COUNT, description: 'How many times the steps run' }),
      steps: Type.Array(inner, { minItems: 1, maxItems: MAX_STEPS_PER_LIST }),
    },
    { additionalProperties: false, description },
  );

/** A repeat inside a repeat: only steps in it. */
const InnerRepeat = repeatOf(Step, 'A repeat block inside a repeat block: steps only');
const OuterRepeat = repeatOf(Type.Union([Step, InnerRepeat]), 'A repeat block: steps and repeat blocks of steps, run count times');

export const Steps = Type.Array(Type.Union([Step, OuterRepeat]), {
  minItems: 1,
  maxItems: MAX_STEPS_PER_LIST,
  description: 'The workout in order: steps and repeat blocks (a repeat may hold repeats of steps, no deeper)',
});
export type Steps = Static<typeof Steps>;

type Entry = Step | { type: 'repeat'; count: number; steps: readonly Entry[] };

/** The rules the schema cannot state, as `${path}/field: what is wrong` (empty when the steps are valid). */
export function stepsProblems(steps: readonly Entry[], path = '/steps'): string[] {
  const problems: string[] = [];
  steps.forEach((entry, index) => {
    const at = `${path}/${index}`;
    if (entry.type === 'repeat') {
      problems.push(...stepsProblems(entry.steps, `${at}/steps`));
      return;
    }
    if ((entry.durationSeconds === undefined) === (entry.distanceMeters === undefined)) problems.push(`${at}: give exactly one of durationSeconds and distanceMeters`);
    if (entry.target !== undefined && 'low' in entry.target && entry.target.low > entry.target.high) problems.push(`${at}/target: low is above high`);
  });
  return problems;
}

/** The planned duration in seconds, when every step has a duration; undefined when one goes by distance. */
export function totalDurationSeconds(steps: readonly Entry[]): number | undefined {
  let total = 0;
  for (const entry of steps) {
    const seconds = entry.type === 'repeat' ? mapDefined(totalDurationSeconds(entry.steps), (inner) => inner * entry.count) : entry.durationSeconds;
    if (seconds === undefined) return undefined;
    total += seconds;
  }
  return total;
}

function mapDefined<T, R>(value: T | undefined, map: (value: T) => R): R | undefined {
  return value === undefined ? undefined : map(value);
}
