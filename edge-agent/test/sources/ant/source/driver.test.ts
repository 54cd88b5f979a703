/**
 * The stick driver against an in-memory transport: command/response matching, timeouts that name what they
 * waited for, refusals, and losing the transport mid-command.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { ConfigError } from '@pulsebridge/runtime';
import { AntMessageId, encodeFrame } from '../../../../src/sources/ant/codec/frame.ts';
import type { AntChannelEvent, AntDataMessage } from '../../../../src/sources/ant/codec/messages.ts';
import { antSourceConfig, parseAntSensorId, parseNetworkKey } from '../../../../src/sources/ant/config.ts';
import { AntStick } from '../../../../src/sources/ant/stick/driver.ts';
import { AntStickError } from '../../../../src/sources/ant/stick/errors.ts';
import type { AntTransport, AntTransportHandlers } from '../../../../src/sources/ant/transport/transport.ts';

const log = pino({ level: 'silent' });

class MemoryTransport implements AntTransport {
  readonly description = 'memory';
  readonly written: Uint8Array[] = [];
  handlers: AntTransportHandlers | undefined;
  answer: (frame: Uint8Array) => Uint8Array[] = () => [];

  async open(handlers: AntTransportHandlers): Promise<void> {
    this.handlers = handlers;
  }

  async write(frame: Uint8Array): Promise<void> {
    this.written.push(frame);
    const replies = this.answer(frame);
    // Reply asynchronously, in two halves, as a serial line would.
    setImmediate(() => {
      for (const reply of replies) {
        this.handlers?.data(reply.subarray(0, 2));
        this.handlers?.data(reply.subarray(2));
      }
    });
  }

  async close(): Promise<void> {
    this.handlers = undefined;
  }
}

function stickOn(transport: MemoryTransport, received: { data: AntDataMessage[]; events: AntChannelEvent[]; lost: string[] } = { data: [], events: [], lost: [] }): AntStick {
  return new AntStick({
    transport,
    log,
    responseTimeoutMs: 100,
    onData: (m) => received.data.push(m),
    onEvent: (e) => received.events.push(e),
    onLost: (r) => received.lost.push(r),
  });
}

const ok = (frame: Uint8Array): Uint8Array => encodeFrame(AntMessageId.channelEvent, [frame[3] ?? 0, frame[2] ?? 0, 0]);

test('a command resolves on its own response even with data and other responses in between', async () => {
  const transport = new MemoryTransport();
  const received = { data: [] as AntDataMessage[], events: [] as AntChannelEvent[], lost: [] as string[] };
  transport.answer = (frame) => [
    encodeFrame(AntMessageId.broadcastData, [0, 1, 2, 3, 4, 5, 6, 7, 8]),
    encodeFrame(AntMessageId.channelEvent, [5, AntMessageId.openChannel, 0]),
    ok(frame),
  ];
  const stick = stickOn(transport, received);
  await stick.start();
  await stick.setChannelPeriod(2, 8070);
  assert.deepEqual([...(transport.written[0] ?? [])], [0xa4, 0x03, 0x43, 0x02, 0x86, 0x1f, 0x7f]);
  assert.equal(received.data.length, 1);
  await stick.stop();
});

test('no answer: the timeout error has code timeout and names the command and channel', async () => {
  const transport = new MemoryTransport();
  const stick = stickOn(transport);
  await stick.start();
  await assert.rejects(stick.openChannel(3), (error: unknown) => {
    assert.ok(error instanceof AntStickError);
    assert.equal(error.code, 'timeout');
    assert.match(error.message, /timed out after 100 ms waiting for response to openChannel \(0x4b\) on channel 3/);
    return true;
  });
  await stick.stop();
});

test('an error response code rejects with code rejected and the response name', async () => {
  const transport = new MemoryTransport();
  transport.answer = (frame) => [encodeFrame(AntMessageId.channelEvent, [frame[3] ?? 0, frame[2] ?? 0, 0x15])];
  const stick = stickOn(transport);
  await stick.start();
  await assert.rejects(stick.openChannel(0), (error: unknown) => error instanceof AntStickError && error.code === 'rejected' && /channelInWrongState/.test(error.message));
  await stick.stop();
});

test('capabilities: scan mode and extended messages come from advanced options 2; 4-byte answers mean neither', async () => {
  const transport = new MemoryTransport();
  let options2: number[] = [0x06];
  transport.answer = () => [encodeFrame(AntMessageId.capabilities, [8, 3, 0, 0xba, ...options2])];
  const stick = stickOn(transport);
  await stick.start();
  const full = await stick.requestCapabilities();
  assert.deepEqual({ maxChannels: full.maxChannels, scanMode: full.scanMode, extendedMessages: full.extendedMessages }, { maxChannels: 8, scanMode: true, extendedMessages: true });
  options2 = [];
  const old = await stick.requestCapabilities();
  assert.equal(old.scanMode, false);
  await stick.stop();
});

test('losing the transport rejects the outstanding command with code closed and reports the loss', async () => {
  const transport = new MemoryTransport();
  const received = { data: [] as AntDataMessage[], events: [] as AntChannelEvent[], lost: [] as string[] };
  const stick = stickOn(transport, received);
  await stick.start();
  const pending = stick.openChannel(0);
  transport.handlers?.lost('unplugged');
  await assert.rejects(pending, (error: unknown) => error instanceof AntStickError && error.code === 'closed');
  assert.deepEqual(received.lost, ['unplugged']);
  await assert.rejects(stick.openChannel(0), (error: unknown) => error instanceof AntStickError && error.code === 'closed');
});

test('refused lib config falls back to the legacy extended-messages switch', async () => {
  const transport = new MemoryTransport();
  transport.answer = (frame) => [encodeFrame(AntMessageId.channelEvent, [0, frame[2] ?? 0, frame[2] === AntMessageId.libConfig ? 0x28 : 0])];
  const stick = stickOn(transport);
  await stick.start();
  assert.equal(await stick.enableExtendedData(), 'legacy');
  assert.deepEqual(
    transport.written.map((f) => f[2]),
    [AntMessageId.libConfig, AntMessageId.enableExtendedMessages],
  );
  await stick.stop();
});

test('network key parsing accepts separators and refuses other lengths without echoing the key', () => {
  const parsed = parseNetworkKey('01:23:45:67:89:ab:cd:ef');
  assert.ok(parsed.ok);
  assert.deepEqual([...parsed.key], [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
  const bad = parseNetworkKey('0123456789abcd');
  assert.equal(bad.ok, false);
  assert.ok(!bad.ok && !bad.reason.includes('0123'));
});

test('sensor ids parse back to channel ids; 20-bit numbers must agree with the transmission type', () => {
  assert.deepEqual(parseAntSensorId('ant:120:1000:1'), { deviceType: 120, deviceNumber: 1000, transmissionType: 1 });
  assert.deepEqual(parseAntSensorId('ant:11:198126:53'), { deviceType: 11, deviceNumber: 198126, transmissionType: 53 });
  assert.equal(parseAntSensorId('ant:11:198126:5'), undefined);
  assert.equal(parseAntSensorId('ant:200:1:1'), undefined);
  assert.equal(parseAntSensorId('ble:aa'), undefined);
});

test('config: defaults filled, uart needs a path, unknown keys and bad ids refused', () => {
  const config = antSourceConfig({});
  assert.equal(config.transport, 'usb');
  assert.equal(config.baudRate, 57600);
  assert.deepEqual(config.usbProductIds, [0x1008, 0x1009]);
  assert.equal(config.mode, 'auto');
  assert.throws(() => antSourceConfig({ transport: 'uart' }), /\/path: required/);
  assert.throws(
    () => antSourceConfig({ colour: 'red' }),
    (e: unknown) => e instanceof ConfigError && e.code === 'config',
  );
  assert.throws(() => antSourceConfig({ allow: ['ant:x'] }), /allow/);
});
