/**
 * A Mosquitto started from the documented configuration in deploy/mosquitto (ACL files, client id forced to
 * the username, a separate hub listener), on free loopback ports in a temp dir; or from its dynamic security
 * variant (mosquitto-dynsec.conf), with the plugin's file initialised as the README says. For tests; needs the
 * mosquitto binary (Debian: apt-get install mosquitto), and for the variant the plugin and mosquitto_ctrl.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as connectTcp, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { settlesWithin, until } from '@pulsebridge/runtime';
import { mosquittoPasswordLine } from '../../src/broker/mosquitto-password.ts';

const deployDir = fileURLToPath(new URL('../../../deploy/mosquitto/', import.meta.url));

export interface Broker {
  agentUrl: string;
  hub: { url: string; username: string; password: string };
  /** Adds an agent account and makes the broker load it. */
  addAgent(id: string, secret: string): Promise<void>;
}

/** True once the broker accepts these agent credentials (a password file reload is asynchronous). */
async function acceptsAgent(url: string, id: string, secret: string): Promise<boolean> {
  try {
    const client = await mqtt.connectAsync(url, { clientId: `pb-agent-${id}`, username: id, password: secret, protocolVersion: 5, reconnectPeriod: 0 }, false);
    await client.endAsync(true);
    return true;
  } catch {
    return false;
  }
}

/** Appends an agent account to a Mosquitto password file and waits until the signalled broker has loaded it. */
export async function addMosquittoAgent(broker: { passwdFile: string; pid: number; agentUrl: string }, id: string, secret: string): Promise<void> {
  appendFileSync(broker.passwdFile, `${mosquittoPasswordLine(id, secret)}\n`);
  process.kill(broker.pid, 'SIGHUP');
  await until(`mosquitto to accept agent ${id}`, () => acceptsAgent(broker.agentUrl, id, secret), 5_000, 50);
}

function findMosquitto(): string | undefined {
  for (const dir of [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/usr/local/sbin']) {
    if (dir && existsSync(join(dir, 'mosquitto'))) return join(dir, 'mosquitto');
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** True when something accepts TCP connections on this loopback port. */
export async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export const mosquittoBin = findMosquitto();
export const dynsecPlugin = ['/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so', '/usr/lib/mosquitto_dynamic_security.so'].find((path) => existsSync(path));
export const mosquittoCtrl = ['/usr/bin/mosquitto_ctrl', '/usr/local/bin/mosquitto_ctrl'].find((path) => existsSync(path));
/** Why a test of the dynamic security plugin cannot run here, or false. */
export const dynsecMissing: string | false = !mosquittoBin
  ? 'mosquitto binary not installed (apt-get install mosquitto)'
  : !dynsecPlugin || !mosquittoCtrl
    ? 'mosquitto dynamic security plugin or mosquitto_ctrl not installed (Debian: both in apt-get install mosquitto)'
    : false;

const DEPLOYED_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';

export class DeployedMosquitto implements Broker {
  dir = '';
  agentPort = 0;
  hubPort = 0;
  private process: ChildProcess | undefined;
  readonly hubPassword = 'hub-password-0123456789';
  /** The hub's admin client of the dynamic security plugin (agentAccounts 'dynamic-security'). */
  readonly dynsecAdmin = { username: 'pulsebridge-hub-admin', password: 'hub-admin-password-0123456789' };

  constructor(private readonly agentAccounts: 'password-file' | 'dynamic-security' = 'password-file') {}

  get agentUrl(): string {
    return `mqtt://127.0.0.1:${this.agentPort}`;
  }

  get hub(): Broker['hub'] {
    return { url: `mqtt://127.0.0.1:${this.hubPort}`, username: 'pulsebridge-hub', password: this.hubPassword };
  }

  async setup(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'pb-mosquitto-'));
    this.agentPort = await freePort();
    this.hubPort = await freePort();
    mkdirSync(join(this.dir, 'data'));
    const dynsec = this.agentAccounts === 'dynamic-security';
    let conf = readFileSync(join(deployDir, dynsec ? 'mosquitto-dynsec.conf' : 'mosquitto.conf'), 'utf8')
      .replaceAll('/etc/mosquitto/pulsebridge/', `${this.dir}/`)
      .replace(DEPLOYED_PLUGIN, dynsecPlugin ?? DEPLOYED_PLUGIN)
      .replace('/var/lib/mosquitto/', `${this.dir}/data/`)
      .replace(/^listener 1883$/m, `listener ${this.agentPort} 127.0.0.1`)
      .replace(/^listener 1884$/m, `listener ${this.hubPort} 127.0.0.1`);
    // As root, Mosquitto would switch to the mosquitto user, which cannot read this private temp dir.
    if (process.getuid?.() === 0) conf = `user root\n${conf}`;
    assert.ok(conf.includes(`listener ${this.agentPort} `) && conf.includes(`listener ${this.hubPort} `), 'the deploy config still has listeners 1883 and 1884');
    writeFileSync(join(this.dir, 'mosquitto.conf'), conf);
    for (const file of ['agents.acl', 'hubs.acl']) writeFileSync(join(this.dir, file), readFileSync(join(deployDir, file)));
    writeFileSync(join(this.dir, 'agents.passwd'), '', { mode: 0o600 });
    if (dynsec) {
      const { username, password } = this.dynsecAdmin;
      execFileSync(mosquittoCtrl!, ['dynsec', 'init', join(this.dir, 'dynamic-security.json'), username, password], { stdio: 'pipe' });
    }
    writeFileSync(join(this.dir, 'hubs.passwd'), `${mosquittoPasswordLine('pulsebridge-hub', this.hubPassword)}\n`, { mode: 0o600 });
    await this.start();
  }

  async start(): Promise<void> {
    const child = spawn(mosquittoBin!, ['-c', join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    this.process = child;
    await until(
      'mosquitto to listen',
      async () => {
        if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}:\n${output}`);
        return (await portOpen(this.agentPort)) && (await portOpen(this.hubPort));
      },
      10_000,
      50,
    );
  }

  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await settlesWithin(exited, 5_000);
    if (child.exitCode === null) child.kill('SIGKILL');
  }

  async addAgent(id: string, secret: string): Promise<void> {
    assert.equal(this.agentAccounts, 'password-file', 'with dynamic security the hub creates agent accounts');
    await addMosquittoAgent({ passwdFile: join(this.dir, 'agents.passwd'), pid: this.process!.pid!, agentUrl: this.agentUrl }, id, secret);
  }

  async dispose(): Promise<void> {
    await this.kill();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
