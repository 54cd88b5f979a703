import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildAsyncApi, renderAsyncApi } from '../src/asyncapi.ts';
import { MESSAGE_KIND_NAMES } from '../src/index.ts';

test('the checked-in AsyncAPI document matches the schemas (run `npm run asyncapi` when it does not)', () => {
  const checkedIn = readFileSync(new URL('../asyncapi.json', import.meta.url), 'utf8');
  assert.equal(checkedIn, renderAsyncApi());
});

test('every message kind has a channel, an operation and a payload schema', () => {
  const doc = buildAsyncApi() as { channels: Record<string, { address: string }>; components: { messages: Record<string, { payload: { type?: string; anyOf?: unknown[] } }> } };
  for (const kind of MESSAGE_KIND_NAMES) {
    assert.match(doc.channels[kind]?.address ?? '', new RegExp(`/${kind}$`));
    const payload = doc.components.messages[kind]?.payload;
    assert.ok(payload?.type ?? payload?.anyOf, kind);
  }
});
