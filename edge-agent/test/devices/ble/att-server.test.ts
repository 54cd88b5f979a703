/**
 * The ATT server against hand-built PDUs: the discovery procedures' paging, MTU limits, and every error
 * response a client can provoke (Core Spec v5.3 Vol 3 Part F).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AttError, AttOpcode, AttServer } from './att-server.ts';
import { GattDatabase, type ServiceDefinition } from './gatt.ts';

const CUSTOM_SERVICE = '6e400001b5a3f393e0a9e50e24dcca9e';
const CUSTOM_CHARACTERISTIC = '6e400002b5a3f393e0a9e50e24dcca9e';

function fixture(options: { serverMtu?: number; writes?: { handle: string; data: string }[] } = {}) {
  let stored: Buffer = Buffer.from('initial');
  const services: ServiceDefinition[] = [
    {
      uuid: '180d',
      characteristics: [
        { uuid: '2a37', properties: ['notify'] },
        { uuid: '2a38', properties: ['read'], read: () => Buffer.from([0x01]) },
        {
          uuid: '2a39',
          properties: ['write'],
          write: (data) => {
            options.writes?.push({ handle: '2a39', data: data.toString('hex') });
            return data[0] === 0x01 ? 0 : 0x80;
          },
        },
      ],
    },
    {
      uuid: CUSTOM_SERVICE,
      characteristics: [
        {
          uuid: CUSTOM_CHARACTERISTIC,
          properties: ['read', 'write', 'writeWithoutResponse', 'indicate'],
          read: () => stored,
          write: (data) => {
            stored = data;
          },
          descriptors: [{ uuid: '2901', value: Buffer.from('long value') }],
        },
      ],
    },
  ];
  const database = new GattDatabase({ deviceName: 'ATT-TEST', services });
  const sent: Buffer[] = [];
  const errors: string[] = [];
  const server = new AttServer({
    database,
    serverMtu: options.serverMtu ?? 23,
    send: (pdu) => {
      sent.push(pdu);
      return true;
    },
    connectionHandle: 0x40,
    adapterId: 0,
    onValueWrite: (entry, data, context) => entry.definition.write?.(data, { ...context, connectionHandle: 0x40, adapterId: 0 }),
    onProtocolError: (reason) => errors.push(reason),
  });
  const request = (hex: string): Buffer | undefined => {
    const before = sent.length;
    server.handle(Buffer.from(hex.replaceAll(' ', ''), 'hex'));
    assert.ok(sent.length - before <= 1, 'at most one response per request');
    return sent.length > before ? sent.at(-1) : undefined;
  };
  return { database, server, request, sent, errors, stored: () => stored };
}

function errorResponse(requestOpcode: number, handle: number, code: number): string {
  const pdu = Buffer.alloc(5);
  pdu.writeUInt8(AttOpcode.errorResponse, 0);
  pdu.writeUInt8(requestOpcode, 1);
  pdu.writeUInt16LE(handle, 2);
  pdu.writeUInt8(code, 4);
  return pdu.toString('hex');
}

function le16(value: number): string {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16LE(value, 0);
  return buffer.toString('hex');
}

describe('ATT server', () => {
  test('the attribute table: GAP, GATT, then services in order with declarations, values and CCCDs', () => {
    const { database } = fixture();
    const layout = database.attributes.map((attribute) => `${attribute.handle}:${attribute.type}`);
    assert.deepEqual(layout.slice(0, 11), ['1:2800', '2:2803', '3:2a00', '4:2803', '5:2a01', '6:2800', '7:2803', '8:2a05', '9:2902', '10:2800', '11:2803']);
    assert.equal(database.characteristic('2a37')?.cccdHandle, 13);
    assert.equal(database.characteristic('2a38')?.cccdHandle, undefined);
  });

  test('primary service discovery pages by MTU and by UUID size, then ends with Attribute Not Found', () => {
    const { request } = fixture();
    // 16-bit services: 6-byte entries; (23 - 2) / 6 = 3 per response.
    assert.equal(request('10 0100 ffff 0028')?.toString('hex'), '1106' + '010005000018' + '060009000118' + '0a0011000d18');
    // The 128-bit service comes alone, in its own response with 20-byte entries.
    const custom = request('10 1200 ffff 0028');
    assert.equal(custom?.readUInt8(1), 20);
    assert.equal(custom?.length, 22);
    const end = custom?.readUInt16LE(4) ?? 0;
    assert.equal(request(`10 ${le16(end + 1)} ffff 0028`)?.toString('hex'), errorResponse(0x10, end + 1, AttError.attributeNotFound));
  });

  test('characteristic discovery returns declarations, and CCCD lookup returns its per-connection value', () => {
    const { request } = fixture();
    const declarations = request('08 0a00 1100 0328');
    assert.equal(declarations?.readUInt8(0), AttOpcode.readByTypeResponse);
    assert.equal(declarations?.readUInt8(1), 7);
    assert.equal(declarations?.length, 2 + 3 * 7);
    // handle 11: properties 0x10 (notify), value handle 12, UUID 0x2A37
    assert.equal(declarations?.subarray(2, 9).toString('hex'), '0b00' + '10' + '0c00' + '372a');
    assert.equal(request('08 0a00 1100 0228')?.toString('hex'), errorResponse(0x08, 0x0a, AttError.attributeNotFound), 'no included services');
    assert.equal(request('08 0c00 0d00 0229')?.toString('hex'), '0904' + '0d00' + '0000');
    assert.equal(request('12 0d00 0100')?.toString('hex'), '13');
    assert.equal(request('08 0c00 0d00 0229')?.toString('hex'), '0904' + '0d00' + '0100');
  });

  test('requests outside the table or the permissions get the error the spec names', () => {
    const { request, errors } = fixture();
    assert.equal(request('0a 0000')?.toString('hex'), errorResponse(0x0a, 0, AttError.invalidHandle));
    assert.equal(request('0a 9999')?.toString('hex'), errorResponse(0x0a, 0x9999, AttError.invalidHandle));
    assert.equal(request('0a 0c00')?.toString('hex'), errorResponse(0x0a, 0x0c, AttError.readNotPermitted), 'notify-only value');
    assert.equal(request('12 0f00 02')?.toString('hex'), errorResponse(0x12, 0x0f, AttError.writeNotPermitted), 'read-only value');
    assert.equal(request('12 0e00 02')?.toString('hex'), errorResponse(0x12, 0x0e, AttError.writeNotPermitted), 'a declaration');
    assert.equal(request('12 0d00 01')?.toString('hex'), errorResponse(0x12, 0x0d, AttError.invalidAttributeValueLength), 'one-byte CCCD');
    assert.equal(request('12 0d00 0200')?.toString('hex'), errorResponse(0x12, 0x0d, AttError.valueNotAllowed), 'indications on a notify-only characteristic');
    assert.equal(request('12 1100 02')?.toString('hex'), errorResponse(0x12, 0x11, 0x80), 'the profile refuses the value');
    assert.equal(request('12 1100 01')?.toString('hex'), '13');
    assert.equal(request('04 0500 0400')?.toString('hex'), errorResponse(0x04, 5, AttError.invalidHandle), 'start after end');
    assert.equal(request('04 0000 0400')?.toString('hex'), errorResponse(0x04, 0, AttError.invalidHandle), 'start 0');
    assert.equal(request('10 0100 ffff 0328')?.toString('hex'), errorResponse(0x10, 1, AttError.unsupportedGroupType));
    assert.equal(request('08 0100 ffff 0229 00')?.toString('hex'), errorResponse(0x08, 0, AttError.invalidPdu), 'odd UUID length');
    assert.equal(request('0a 01')?.toString('hex'), errorResponse(0x0a, 0, AttError.invalidPdu));
    assert.equal(request('02')?.toString('hex'), errorResponse(0x02, 0, AttError.invalidPdu));
    assert.equal(request('0e 0300 0500')?.toString('hex'), errorResponse(0x0e, 0, AttError.requestNotSupported), 'Read Multiple is optional');
    assert.equal(request('3c 0000')?.toString('hex'), errorResponse(0x3c, 0, AttError.requestNotSupported), 'unknown request');
    assert.equal(request('7c 0000'), undefined, 'unknown commands get no response');
    assert.equal(request('52 0f00 02'), undefined, 'a refused Write Command gets no response');
    assert.equal(request('1b 0c00 00'), undefined, 'a notification sent to the server is dropped');
    assert.equal(request(''), undefined);
    assert.equal(errors.length, 4);
  });

  test('MTU exchange: the server offers its MTU and the smaller one applies, never below 23', () => {
    const { server, request } = fixture({ serverMtu: 100 });
    assert.equal(request('02 0001')?.toString('hex'), '03' + le16(100));
    assert.equal(server.mtu, 100);
    request('02 1000');
    assert.equal(server.mtu, 23, 'a client MTU below 23 counts as 23');
  });

  test('long values: Read truncates to MTU-1, Read Blob continues, an offset past the end is refused', () => {
    const { request } = fixture();
    const value = Buffer.from('abcdefghijklmnopqrstuvwxyz0123');
    request(`16 1400 0000 ${value.subarray(0, 18).toString('hex')}`);
    request(`16 1400 1200 ${value.subarray(18).toString('hex')}`);
    assert.equal(request('18 01')?.toString('hex'), '19');
    assert.equal(request('0a 1400')?.toString('hex'), '0b' + value.subarray(0, 22).toString('hex'));
    assert.equal(request('0c 1400 1600')?.toString('hex'), '0d' + value.subarray(22).toString('hex'));
    assert.equal(request(`0c 1400 ${le16(value.length)}`)?.toString('hex'), '0d', 'offset equal to the length: empty part');
    assert.equal(request(`0c 1400 ${le16(value.length + 1)}`)?.toString('hex'), errorResponse(0x0c, 0x14, AttError.invalidOffset));
    assert.equal(request('0c 0c00 0000')?.toString('hex'), errorResponse(0x0c, 0x0c, AttError.readNotPermitted));
  });

  test('prepared writes are assembled in order on execute, and cancelled without effect', () => {
    const { request, stored } = fixture();
    const first = Buffer.from('0123456789abcdefgh');
    const second = Buffer.from('KLMNOPQRST');
    assert.equal(request(`16 1400 0000 ${first.toString('hex')}`)?.readUInt8(0), AttOpcode.prepareWriteResponse);
    assert.equal(request(`16 1400 1200 ${second.toString('hex')}`)?.toString('hex'), `171400${le16(18)}${second.toString('hex')}`);
    assert.equal(stored().toString(), 'initial', 'nothing changes before execute');
    assert.equal(request('18 01')?.toString('hex'), '19');
    assert.equal(stored().toString(), '0123456789abcdefghKLMNOPQRST');
    request(`16 1400 0000 ${Buffer.from('zz').toString('hex')}`);
    assert.equal(request('18 00')?.toString('hex'), '19');
    assert.equal(stored().toString(), '0123456789abcdefghKLMNOPQRST');
    request(`16 1400 0500 ${Buffer.from('gap').toString('hex')}`);
    assert.equal(request('18 01')?.toString('hex'), errorResponse(0x18, 0x14, AttError.invalidOffset), 'a hole before the first part');
    assert.equal(request('18 02')?.toString('hex'), errorResponse(0x18, 0, AttError.invalidPdu));
    assert.equal(request('16 0f00 0000 00')?.toString('hex'), errorResponse(0x16, 0x0f, AttError.writeNotPermitted));
  });

  test('notifications only after the CCCD enables them; indications wait for confirmation', () => {
    const { server, request, database, sent, errors } = fixture();
    const heartRate = database.characteristic('2a37');
    const custom = database.characteristic(CUSTOM_CHARACTERISTIC);
    assert.ok(heartRate && custom);
    assert.equal(server.notify(heartRate, Buffer.from([0x06, 0x48])), false);
    request('12 0d00 0100');
    assert.equal(server.notify(heartRate, Buffer.from([0x06, 0x48])), true);
    assert.equal(sent.at(-1)?.toString('hex'), '1b0c000648');
    assert.equal(server.notify(heartRate, Buffer.alloc(30, 0xaa)), true);
    assert.equal(sent.at(-1)?.length, 23, 'a value longer than MTU-3 is truncated');

    request('12 1500 0200');
    const before = sent.length;
    assert.equal(server.indicate(custom, Buffer.from([1])), true);
    assert.equal(server.indicate(custom, Buffer.from([2])), true);
    assert.equal(sent.length, before + 1, 'the second waits for the confirmation');
    assert.equal(request('1e'), sent.at(-1));
    assert.equal(sent.at(-1)?.toString('hex'), '1d140002');
    request('1e');
    request('1e');
    assert.equal(errors.at(-1), 'Handle Value Confirmation without an indication');
  });
});
