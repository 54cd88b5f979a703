/**
 * The fake controller at the HCI level, driven through FakeHciSocket with hand-built packets: command
 * answers and refusals, socket filters, connection set-up and tear-down, ACL fragmentation and flow
 * control, the fixed L2CAP channels, wedging and reset. Bad host input is tested as hard as good input.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { HciSocketError, FakeHciSocket } from './hci-socket.ts';
import { AclBoundary, aclPacket, EventCode, HciStatus, LeSubevent, Opcode, PacketType } from './hci.ts';
import { until } from '@pulsebridge/runtime';
import { sleep, untilSettled } from './noble-harness.ts';
import { heartRateStrap } from './peripherals/index.ts';
import { FakeBleWorld } from './world.ts';

const RECEIVE_EVERYTHING = Buffer.alloc(16, 0xff).fill(0, 12);

class RawHost {
  readonly socket = new FakeHciSocket();
  readonly packets: Buffer[] = [];
  readonly errors: Error[] = [];
  private cursor = 0;

  constructor(devId?: number, filter: Buffer | null = RECEIVE_EVERYTHING) {
    this.socket.on('data', (packet: Buffer) => this.packets.push(packet));
    this.socket.on('error', (error: Error) => this.errors.push(error));
    this.socket.bindRaw(devId);
    if (filter !== null) this.socket.setFilter(filter);
    this.socket.start();
  }

  send(op: number, parameters: number[] | Buffer = []): void {
    const body = Buffer.from(parameters);
    const header = Buffer.alloc(4);
    header.writeUInt8(PacketType.command, 0);
    header.writeUInt16LE(op, 1);
    header.writeUInt8(body.length, 3);
    this.socket.write(Buffer.concat([header, body]));
  }

  /** Sends a command and returns its Command Complete or Command Status event. */
  async command(op: number, parameters: number[] | Buffer = []): Promise<Buffer> {
    this.send(op, parameters);
    return this.next(
      (packet) => (packet[1] === EventCode.commandComplete && packet.readUInt16LE(4) === op) || (packet[1] === EventCode.commandStatus && packet.readUInt16LE(5) === op),
      `the answer to opcode 0x${op.toString(16)}`,
    );
  }

  /** The next packet (after the previous match) that satisfies `accept`. */
  async next(accept: (packet: Buffer) => boolean, what: string, timeoutMs = 1000): Promise<Buffer> {
    let found: Buffer | undefined;
    await until(
      what,
      () => {
        for (; this.cursor < this.packets.length; this.cursor++) {
          const packet = this.packets[this.cursor];
          if (packet !== undefined && accept(packet)) {
            found = packet;
            this.cursor++;
            return true;
          }
        }
        return false;
      },
      timeoutMs,
    );
    assert.ok(found);
    return found;
  }

  since(mark: number): Buffer[] {
    return this.packets.slice(mark);
  }
}

function completeStatus(event: Buffer): number {
  return event[1] === EventCode.commandComplete ? (event[6] ?? -1) : (event[3] ?? -1);
}

function isLeMeta(subevent: number): (packet: Buffer) => boolean {
  return (packet) => packet[0] === PacketType.event && packet[1] === EventCode.leMeta && packet[3] === subevent;
}

/** LE Create Connection parameters (25 bytes) for a peer. */
function createConnection(address: string, random: boolean): Buffer {
  const parameters = Buffer.alloc(25);
  parameters.writeUInt16LE(0x60, 0);
  parameters.writeUInt16LE(0x30, 2);
  parameters.writeUInt8(random ? 1 : 0, 5);
  Buffer.from(address.split(':').reverse().join(''), 'hex').copy(parameters, 6);
  parameters.writeUInt16LE(0x06, 13);
  parameters.writeUInt16LE(0x0c, 15);
  parameters.writeUInt16LE(0, 17);
  parameters.writeUInt16LE(0x2a, 19);
  return parameters;
}

function l2cap(cid: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16LE(payload.length, 0);
  header.writeUInt16LE(cid, 2);
  return Buffer.concat([header, payload]);
}

/** ACL data from the controller for `handle`, reassembled into L2CAP PDUs. */
function reassemble(packets: Buffer[], handle: number): { cid: number; payload: Buffer; fragments: number[] }[] {
  const pdus: { cid: number; payload: Buffer; fragments: number[] }[] = [];
  let partial: { data: Buffer; fragments: number[] } | undefined;
  for (const packet of packets) {
    if (packet[0] !== PacketType.acl || (packet.readUInt16LE(1) & 0x0fff) !== handle) continue;
    const boundary = packet.readUInt16LE(1) >> 12;
    const data = packet.subarray(5);
    partial =
      boundary === AclBoundary.continuation && partial
        ? { data: Buffer.concat([partial.data, data]), fragments: [...partial.fragments, data.length] }
        : { data, fragments: [data.length] };
    if (partial.data.length >= 4 && partial.data.length === partial.data.readUInt16LE(0) + 4) {
      pdus.push({ cid: partial.data.readUInt16LE(2), payload: partial.data.subarray(4), fragments: partial.fragments });
      partial = undefined;
    }
  }
  return pdus;
}

describe('fake controller at the HCI level', () => {
  const worlds: FakeBleWorld[] = [];
  after(() => worlds.forEach((world) => world.close()));

  function startWorld(options: ConstructorParameters<typeof FakeBleWorld>[0] = {}): FakeBleWorld {
    for (const world of worlds) world.close();
    const world = new FakeBleWorld(options);
    worlds.push(world);
    return world;
  }

  async function connect(host: RawHost, address: string): Promise<number> {
    const status = await host.command(Opcode.leCreateConnection, createConnection(address, true));
    assert.equal(completeStatus(status), HciStatus.success);
    const complete = await host.next(isLeMeta(LeSubevent.connectionComplete), 'LE Connection Complete');
    assert.equal(complete[4], HciStatus.success);
    return complete.readUInt16LE(5);
  }

  test('answers configuration commands, refuses malformed ones and unknown opcodes', async () => {
    const world = startWorld({ adapters: [{ id: 0, address: '00:11:22:33:44:55', aclPacketLength: 27, aclPacketCount: 5 }] }).start();
    const host = new RawHost(0);
    assert.equal(completeStatus(await host.command(Opcode.reset)), 0);
    const version = await host.command(Opcode.readLocalVersion);
    assert.ok((version[7] ?? 0) >= 0x06, 'HCI version noble accepts');
    const buffers = await host.command(Opcode.leReadBufferSize);
    assert.deepEqual([buffers.readUInt16LE(7), buffers[9]], [27, 5]);
    const address = await host.command(Opcode.readBdAddr);
    assert.equal(address.subarray(7).toString('hex'), '554433221100');
    assert.equal(completeStatus(await host.command(0x0c7f)), HciStatus.unknownCommand);
    assert.equal(completeStatus(await host.command(Opcode.setEventMask, [1, 2])), HciStatus.invalidParameters);
    assert.equal(completeStatus(await host.command(Opcode.leSetScanEnable, [2, 0])), HciStatus.invalidParameters);
    assert.equal(completeStatus(await host.command(Opcode.leSetScanParameters, [1, 0x12, 0, 0x12, 0, 0, 0])), 0);
    assert.equal(completeStatus(await host.command(Opcode.leSetScanEnable, [1, 1])), 0);
    assert.equal(completeStatus(await host.command(Opcode.leSetScanParameters, [1, 0x12, 0, 0x12, 0, 0, 0])), HciStatus.commandDisallowed, 'not while scanning');
    assert.equal(world.adapter(0).counters.unknownCommands, 1);

    const errorsBefore = world.adapter(0).counters.protocolErrors;
    host.socket.write(Buffer.from([PacketType.command, 0x03, 0x0c, 0x05, 0x00])); // says 5 parameter bytes, has 1
    host.socket.write(Buffer.from([0x09, 0x00, 0x00, 0x00])); // no such packet type
    host.socket.write(Buffer.from([PacketType.command]));
    await until('both malformed packets counted', () => world.adapter(0).counters.protocolErrors >= errorsBefore + 2 && host.errors.length > 0, 1_000);
    assert.equal(world.adapter(0).counters.protocolErrors, errorsBefore + 2);
    assert.ok(host.errors.at(-1) instanceof HciSocketError && host.errors.at(-1)?.message.startsWith('EINVAL'));
  });

  test('raw sockets: nothing before a filter, masked events dropped, other sockets see copies of commands', async () => {
    startWorld().start();
    const unfiltered = new RawHost(0, null);
    const commandsOnly = Buffer.alloc(16);
    commandsOnly.writeUInt32LE(1 << PacketType.command, 0);
    const watcher = new RawHost(0, commandsOnly);
    const disconnectionsOnly = Buffer.alloc(16);
    disconnectionsOnly.writeUInt32LE(1 << PacketType.event, 0);
    disconnectionsOnly.writeUInt32LE(1 << EventCode.disconnectionComplete, 4);
    const masked = new RawHost(0, disconnectionsOnly);
    const host = new RawHost(0);
    await host.command(Opcode.readBdAddr);
    // Asserts that nothing happens in this window: no copy reaches the unfiltered or masked sockets, no second copy the watcher.
    await sleep(10);
    assert.equal(unfiltered.packets.length, 0);
    assert.equal(masked.packets.length, 0, 'Command Complete is not in its event mask');
    assert.deepEqual(
      watcher.packets.map((packet) => packet.toString('hex')),
      ['01091000'],
      'the command copy only',
    );
    assert.equal(host.packets.filter((packet) => packet[0] === PacketType.command).length, 0, 'no copy of its own command');
  });

  test('binding errors look like the native addon: ENODEV on bind, EBADFD and ENETDOWN on write', () => {
    const world = startWorld({ adapters: [{ id: 0 }, { id: 2 }] }).start();
    const socket = new FakeHciSocket();
    const errors: HciSocketError[] = [];
    socket.on('error', (error: HciSocketError) => errors.push(error));
    assert.throws(
      () => socket.bindRaw(1),
      (error: HciSocketError) => error.code === 'ENODEV' && error.syscall === 'bind',
    );
    socket.write(Buffer.from('01030c00', 'hex'));
    assert.equal(errors.at(-1)?.code, 'EBADFD');
    world.adapter(0).setPowered(false);
    assert.equal(socket.bindRaw(), 2, 'no id: the first adapter that is up');
    assert.deepEqual(
      socket.getDeviceList().map((device) => [device.devId, device.devUp]),
      [
        [0, false],
        [2, true],
      ],
    );
    assert.equal(socket.isDevUp(), true);
    world.adapter(2).setPowered(false);
    assert.equal(socket.isDevUp(), false);
    socket.write(Buffer.from('01030c00', 'hex'));
    assert.equal(errors.at(-1)?.code, 'ENETDOWN');
  });

  test('connections: Command Status then Connection Complete, refusals for bad or impossible requests', async () => {
    const world = startWorld({ adapters: [{ id: 0, connectionLimit: 1 }] });
    const strap = world.add(heartRateStrap({ seed: 1, advertisingIntervalMs: 20, rssi: -50, rssiJitter: 0 }));
    const other = world.add(heartRateStrap({ seed: 2, advertisingIntervalMs: 20 }));
    world.start();
    const host = new RawHost(0);
    await host.command(Opcode.leSetEventMask, Buffer.from('1f00000000000000', 'hex'));
    await host.command(Opcode.setEventMask, Buffer.from('fffffbff07f8bf3d', 'hex'));

    assert.equal(completeStatus(await host.command(Opcode.leCreateConnection, [1, 2, 3])), HciStatus.invalidParameters);
    assert.equal(completeStatus(await host.command(Opcode.leCreateConnectionCancel)), HciStatus.commandDisallowed, 'nothing to cancel');
    const handle = await connect(host, strap.address);
    const complete = host.packets.find(isLeMeta(LeSubevent.connectionComplete));
    assert.ok(complete);
    assert.equal(complete.subarray(9, 15).toString('hex'), strap.address.split(':').reverse().join(''));
    assert.equal(complete[8], 1, 'random address type');
    assert.equal(complete.readUInt16LE(19), 0x2a, 'the supervision timeout asked for');
    assert.equal(strap.isAdvertising(), false, 'a connected strap stops advertising');

    assert.equal(completeStatus(await host.command(Opcode.leCreateConnection, createConnection(other.address, true))), HciStatus.connectionLimitExceeded);
    const rssi = await host.command(Opcode.readRssi, [handle & 0xff, handle >> 8]);
    assert.deepEqual([rssi[6], rssi.readUInt16LE(7), rssi.readInt8(9)], [0, handle, -50]);
    assert.equal(completeStatus(await host.command(Opcode.readRssi, [0x99, 0x0e])), HciStatus.unknownConnectionId);
    assert.equal(completeStatus(await host.command(Opcode.disconnect, [0x99, 0x0e, 0x13])), HciStatus.unknownConnectionId);
    assert.equal(completeStatus(await host.command(Opcode.disconnect, [handle & 0xff, handle >> 8, 0x08])), HciStatus.invalidParameters, '0x08 is not a reason a host may give');

    const update = Buffer.alloc(14);
    update.writeUInt16LE(handle, 0);
    update.writeUInt16LE(24, 2);
    update.writeUInt16LE(40, 4);
    update.writeUInt16LE(0, 6);
    update.writeUInt16LE(100, 8);
    assert.equal(completeStatus(await host.command(Opcode.leConnectionUpdate, update)), 0);
    const updated = await host.next(isLeMeta(LeSubevent.connectionUpdateComplete), 'LE Connection Update Complete');
    assert.deepEqual([updated.readUInt16LE(5), updated.readUInt16LE(7), updated.readUInt16LE(11)], [handle, 40, 100]);

    assert.equal(completeStatus(await host.command(Opcode.disconnect, [handle & 0xff, handle >> 8, 0x13])), 0);
    const disconnected = await host.next((packet) => packet[1] === EventCode.disconnectionComplete, 'Disconnection Complete');
    assert.deepEqual([disconnected[3], disconnected.readUInt16LE(4), disconnected[6]], [0, handle, HciStatus.localHostTerminated]);
    await until('the strap to advertise again', () => strap.isAdvertising(), 500);
  });

  test('ACL: fragments from the host are reassembled, answers are fragmented to the buffer size, every packet is completed', async () => {
    const world = startWorld({ adapters: [{ id: 0, aclPacketLength: 27, aclPacketCount: 4 }] });
    const strap = world.add(heartRateStrap({ seed: 3, advertisingIntervalMs: 20 }));
    world.start();
    const adapter = world.adapter(0);
    const host = new RawHost(0);
    const handle = await connect(host, strap.address);
    const mark = host.packets.length;

    // Exchange MTU, then Read By Group Type split in two host fragments (first non-flushable, continuation).
    host.socket.write(aclPacket(handle, AclBoundary.firstNonFlushable, l2cap(4, Buffer.from('020001', 'hex'))));
    const discovery = l2cap(4, Buffer.from('100100ffff0028', 'hex'));
    host.socket.write(aclPacket(handle, AclBoundary.firstNonFlushable, discovery.subarray(0, 6)));
    host.socket.write(aclPacket(handle, AclBoundary.continuation, discovery.subarray(6)));
    await until('two ATT responses', () => reassemble(host.since(mark), handle).length === 2, 1000);
    const [mtu, services] = reassemble(host.since(mark), handle);
    assert.equal(mtu?.payload.toString('hex'), '03f700');
    assert.equal(services?.payload.readUInt8(0), 0x11);
    assert.equal(services?.payload.length, 2 + 5 * 6, 'all five 16-bit services fit the 247-byte MTU');
    assert.deepEqual(services?.fragments, [27, 9], 'the 36-byte L2CAP PDU in 27-byte fragments');
    const completed = host
      .since(mark)
      .filter((packet) => packet[1] === EventCode.numberOfCompletedPackets)
      .reduce((sum, packet) => sum + packet.readUInt16LE(6), 0);
    assert.equal(completed, 3);

    const before = { ...adapter.counters };
    host.socket.write(aclPacket(handle, AclBoundary.continuation, Buffer.from([1, 2, 3]))); // no start
    host.socket.write(Buffer.concat([aclPacket(handle, AclBoundary.firstNonFlushable, Buffer.from([1, 0])), Buffer.from([9])])); // length field lies
    host.socket.write(aclPacket(0x0e99, AclBoundary.firstNonFlushable, l2cap(4, Buffer.from([0x0a, 1, 0])))); // no such link
    host.socket.write(aclPacket(handle, AclBoundary.firstNonFlushable, l2cap(0x0040, Buffer.from([1])))); // no such channel
    host.socket.write(aclPacket(handle, AclBoundary.firstNonFlushable, l2cap(5, Buffer.concat([Buffer.from([0x01, 0x01, 36, 0]), Buffer.alloc(36)])))); // 44 bytes > 27
    for (let i = 0; i < 6; i++) host.socket.write(aclPacket(handle, AclBoundary.firstNonFlushable, l2cap(4, Buffer.from('0a0300', 'hex'))));
    await until(
      'the bad packets counted',
      () =>
        adapter.counters.protocolErrors - before.protocolErrors >= 4 &&
        adapter.counters.aclOversizedPackets - before.aclOversizedPackets >= 1 &&
        adapter.counters.aclBufferOverruns - before.aclBufferOverruns >= 3,
      1_000,
    );
    assert.equal(adapter.counters.protocolErrors - before.protocolErrors, 4);
    assert.equal(adapter.counters.aclOversizedPackets - before.aclOversizedPackets, 1);
    assert.ok(adapter.counters.aclBufferOverruns - before.aclBufferOverruns >= 3, 'more packets in flight than the 4 buffers advertised');
  });

  test('fixed channels: SMP pairing is refused, unknown signalling is rejected, LE credit-based channels are refused', async () => {
    const world = startWorld();
    const strap = world.add(heartRateStrap({ seed: 4, advertisingIntervalMs: 20 }));
    world.start();
    const host = new RawHost(0);
    const handle = await connect(host, strap.address);
    const mark = host.packets.length;
    host.socket.write(aclPacket(handle, AclBoundary.firstNonFlushable, l2cap(6, Buffer.from('01030001100001', 'hex'))));
    host.socket.write(aclPacket(handle, AclBoundary.firstNonFlushable, l2cap(5, Buffer.from('120708000600120000002a00', 'hex'))));
    host.socket.write(aclPacket(handle, AclBoundary.firstNonFlushable, l2cap(5, Buffer.from('140a0a0080004000170017000500', 'hex'))));
    await until('three answers', () => reassemble(host.since(mark), handle).length === 3, 1000);
    const [smp, reject, credit] = reassemble(host.since(mark), handle);
    assert.deepEqual([smp?.cid, smp?.payload.toString('hex')], [6, '0505'], 'Pairing Failed: pairing not supported');
    assert.deepEqual([reject?.cid, reject?.payload.toString('hex')], [5, '010702000000'], 'Command Reject, same identifier');
    assert.equal(credit?.payload.readUInt8(0), 0x15);
    assert.equal(credit?.payload.readUInt16LE(12), 0x0002, 'LE_PSM not supported');
  });

  test('wedged: silence and ignored commands until HCI Reset, which drops links without events', async () => {
    const world = startWorld();
    const strap = world.add(heartRateStrap({ seed: 5, advertisingIntervalMs: 20 }));
    world.start();
    const adapter = world.adapter(0);
    const host = new RawHost(0);
    const handle = await connect(host, strap.address);
    await host.command(Opcode.leSetScanParameters, [1, 0x12, 0, 0x12, 0, 0, 0]);
    await host.command(Opcode.leSetScanEnable, [1, 0]);
    await host.next(isLeMeta(LeSubevent.advertisingReport), 'adverts').catch(() => undefined);

    adapter.wedge();
    await untilSettled('what the controller sent before it wedged to arrive', () => host.packets.length);
    const mark = host.packets.length;
    host.send(Opcode.readBdAddr);
    host.socket.write(aclPacket(handle, AclBoundary.firstNonFlushable, l2cap(4, Buffer.from('020001', 'hex'))));
    // Asserts that nothing happens in this window: a wedged controller answers nothing.
    await sleep(100);
    assert.deepEqual(host.since(mark), [], 'not even a Command Complete');
    assert.equal(adapter.counters.commandsIgnoredWhileWedged, 1);

    assert.equal(completeStatus(await host.command(Opcode.reset)), 0);
    assert.equal(adapter.isWedged, false);
    assert.equal(adapter.activeConnections, 0);
    assert.equal(strap.connectionCount, 0);
    // Asserts that nothing happens in this window: no Disconnection Complete, no advert after the reset.
    await sleep(50);
    assert.equal(host.since(mark).filter((packet) => packet[1] === EventCode.disconnectionComplete).length, 0);
    assert.equal(host.since(mark).filter(isLeMeta(LeSubevent.advertisingReport)).length, 0, 'scanning ended with the reset');

    // After a reset the LE Meta event is masked until the host enables it again.
    await host.command(Opcode.leSetScanParameters, [1, 0x12, 0, 0x12, 0, 0, 0]);
    await host.command(Opcode.leSetScanEnable, [1, 0]);
    // Asserts that nothing happens in this window: the masked LE Meta event carries no advert.
    await sleep(60);
    assert.equal(host.since(mark).filter(isLeMeta(LeSubevent.advertisingReport)).length, 0);
    await host.command(Opcode.setEventMask, Buffer.from('fffffbff07f8bf3d', 'hex'));
    await host.next(isLeMeta(LeSubevent.advertisingReport), 'adverts once LE Meta events are enabled again');
  });

  test('enhanced connection complete when the host unmasks it; extended reports after extended scan enable', async () => {
    const world = startWorld();
    const strap = world.add(heartRateStrap({ seed: 6, advertisingIntervalMs: 20 }));
    world.start();
    const host = new RawHost(0);
    await host.command(Opcode.leSetEventMask, Buffer.from('1fff000000000000', 'hex'));
    await host.command(Opcode.leSetExtendedScanParameters, [0, 0, 1, 1, 0x12, 0, 0x12, 0]);
    await host.command(Opcode.leSetExtendedScanEnable, [1, 0, 0, 0, 0, 0]);
    const report = await host.next(isLeMeta(LeSubevent.extendedAdvertisingReport), 'an extended advertising report');
    assert.equal(report.readUInt16LE(5), 0x13, 'legacy ADV_IND: connectable, scannable, legacy');
    await host.command(Opcode.leSetExtendedScanEnable, [0, 0, 0, 0, 0, 0]);
    await host.command(Opcode.leCreateConnection, createConnection(strap.address, true));
    const complete = await host.next(isLeMeta(LeSubevent.enhancedConnectionComplete), 'LE Enhanced Connection Complete');
    assert.equal(complete[2], 0x1f, '31 parameter bytes');
  });
});
