export * from './metrics.ts';
export * from './readings.ts';
export * from './errors.ts';
export * from './schemas.ts';
export * from './topics.ts';
export * from './validate.ts';
export * from './batch-codec.ts';
export * from './sensor-ids.ts';
