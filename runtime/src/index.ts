export * from './config.ts';
export * from './log.ts';
export * from './cli.ts';
