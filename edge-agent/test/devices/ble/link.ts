/**
 * One LE connection as the controller sees it: the HCI handle, L2CAP reassembly of what the host sends,
 * and the fixed channels a sensor answers on (ATT 0x0004, LE signalling 0x0005, SMP 0x0006).
 */
import { AttServer } from './att-server.ts';
import type { ConnectionParameters } from './hci.ts';
import type { SimulatedPeripheral } from './peripheral.ts';

export const L2capCid = {
  att: 0x0004,
  signaling: 0x0005,
  smp: 0x0006,
} as const;

const SignalingCode = {
  commandReject: 0x01,
  connectionParameterUpdateRequest: 0x12,
  connectionParameterUpdateResponse: 0x13,
  leCreditBasedConnectionRequest: 0x14,
  leCreditBasedConnectionResponse: 0x15,
} as const;

const SMP_PAIRING_REQUEST = 0x01;
const SMP_PAIRING_FAILED = 0x05;
const SMP_REASON_PAIRING_NOT_SUPPORTED = 0x05;

export interface LinkHost {
  readonly adapterId: number;
  /** Sends one L2CAP PDU (header included) to the host; false when it cannot reach the host. */
  sendL2capToHost(link: Link, pdu: Buffer): boolean;
  protocolError(reason: string): void;
}

export type LinkState = 'open' | 'lost' | 'closed';

export class Link {
  readonly att: AttServer;
  /** 'lost': the peer is out of range and the controller has not noticed yet; nothing gets through. */
  state: LinkState = 'open';
  private partial: Buffer | undefined;

  constructor(
    private readonly host: LinkHost,
    readonly handle: number,
    readonly peripheral: SimulatedPeripheral,
    public parameters: ConnectionParameters,
  ) {
    this.att = peripheral.createAttServer({
      connectionHandle: handle,
      adapterId: host.adapterId,
      send: (pdu) => this.sendL2cap(L2capCid.att, pdu),
      onProtocolError: (reason) => host.protocolError(reason),
    });
  }

  get adapterId(): number {
    return this.host.adapterId;
  }

  get supervisionTimeoutMs(): number {
    return this.parameters.supervisionTimeoutUnits * 10;
  }

  /** One ACL fragment from the host, with its packet boundary flag already split off. */
  receiveAcl(isStart: boolean, data: Buffer): void {
    if (isStart) {
      if (this.partial !== undefined) this.host.protocolError(`handle 0x${this.handle.toString(16)}: new L2CAP PDU before the previous one completed`);
      this.partial = Buffer.from(data);
    } else {
      if (this.partial === undefined) {
        this.host.protocolError(`handle 0x${this.handle.toString(16)}: ACL continuation without a start`);
        return;
      }
      this.partial = Buffer.concat([this.partial, data]);
    }
    if (this.partial.length < 4) return;
    const expected = this.partial.readUInt16LE(0) + 4;
    if (this.partial.length < expected) return;
    const pdu = this.partial;
    this.partial = undefined;
    if (pdu.length > expected) {
      this.host.protocolError(`handle 0x${this.handle.toString(16)}: ACL fragments carry ${pdu.length - expected} bytes past the L2CAP length`);
      return;
    }
    if (this.state !== 'open') return;
    this.dispatch(pdu.readUInt16LE(2), pdu.subarray(4));
  }

  sendL2cap(cid: number, payload: Buffer): boolean {
    if (this.state !== 'open') return false;
    const header = Buffer.alloc(4);
    header.writeUInt16LE(payload.length, 0);
    header.writeUInt16LE(cid, 2);
    return this.host.sendL2capToHost(this, Buffer.concat([header, payload]));
  }

  private dispatch(cid: number, payload: Buffer): void {
    switch (cid) {
      case L2capCid.att:
        this.att.handle(payload);
        return;
      case L2capCid.signaling:
        this.signaling(payload);
        return;
      case L2capCid.smp:
        this.securityManager(payload);
        return;
      default:
        // No dynamic channels are open, so the PDU has nowhere to go (Vol 3 Part A 4: silently discarded).
        this.host.protocolError(`L2CAP PDU for unknown CID 0x${cid.toString(16)}`);
    }
  }

  private signaling(payload: Buffer): void {
    if (payload.length < 4) {
      this.host.protocolError('short L2CAP signalling packet');
      return;
    }
    const code = payload.readUInt8(0);
    const identifier = payload.readUInt8(1);
    switch (code) {
      case SignalingCode.commandReject:
      case SignalingCode.connectionParameterUpdateResponse:
        // Answers to requests this peripheral never sends: nothing to do.
        return;
      case SignalingCode.leCreditBasedConnectionRequest: {
        const response = Buffer.alloc(10);
        // destination CID, MTU, MPS and credits stay 0; result 0x0002: LE_PSM not supported.
        response.writeUInt16LE(0x0002, 8);
        this.sendSignaling(SignalingCode.leCreditBasedConnectionResponse, identifier, response);
        return;
      }
      default: {
        // Including Connection Parameter Update Request, which only the peripheral side may send.
        const reason = Buffer.alloc(2); // 0x0000: command not understood
        this.sendSignaling(SignalingCode.commandReject, identifier, reason);
      }
    }
  }

  private sendSignaling(code: number, identifier: number, data: Buffer): void {
    const header = Buffer.alloc(4);
    header.writeUInt8(code, 0);
    header.writeUInt8(identifier, 1);
    header.writeUInt16LE(data.length, 2);
    this.sendL2cap(L2capCid.signaling, Buffer.concat([header, data]));
  }

  private securityManager(payload: Buffer): void {
    if (payload[0] === SMP_PAIRING_REQUEST) {
      this.sendL2cap(L2capCid.smp, Buffer.from([SMP_PAIRING_FAILED, SMP_REASON_PAIRING_NOT_SUPPORTED]));
    } else {
      this.host.protocolError(`SMP code 0x${(payload[0] ?? 0).toString(16)} outside a pairing`);
    }
  }
}
