import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderAsyncApi } from '../src/asyncapi.ts';

const target = fileURLToPath(new URL('../asyncapi.json', import.meta.url));
writeFileSync(target, renderAsyncApi());
console.log(`wrote ${target}`);
