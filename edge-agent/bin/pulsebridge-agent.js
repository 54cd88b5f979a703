#!/usr/bin/env node
// The installed command runs the TypeScript source. tsx is registered from here rather than with
// `node --import tsx`, which resolves tsx from the caller's directory and fails outside the repository.
// argv[1] is pointed at the entry so that its runWhenInvoked starts the command as if node had been given it.
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

const entry = new URL('../src/main.ts', import.meta.url);
register();
process.argv[1] = fileURLToPath(entry);
await import(entry.href);
