/** The document collections of trainings: workout templates. */
import { Type } from '@sinclair/typebox';
import type { CollectionSpec } from '../../documents/document-store.ts';
import { Steps } from './steps.ts';

export const SPORTS = ['cycling', 'running', 'rowing', 'swimming', 'strength', 'other'] as const;

export const TRAININGS = {
  name: 'trainings',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
      name: Type.String(),
      description: Type.String(),
      sport: Type.Union(SPORTS.map((sport) => Type.Literal(sport))),
      steps: Steps,
      /** Absent when a step goes by distance. */
      totalDurationSeconds: Type.Optional(Type.Integer()),
      createdBy: Type.String(),
      createdAt: Type.Integer(),
      updatedAt: Type.Integer(),
    },
    { additionalProperties: false },
  ),
  indexes: [
    { name: 'by_gym', fields: ['gym'] },
    { name: 'by_gym_name', fields: ['gym', 'name'] },
  ],
} as const satisfies CollectionSpec;

export const TRAININGS_COLLECTIONS: readonly CollectionSpec[] = [TRAININGS];
