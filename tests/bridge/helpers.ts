/**
 * Shared fixtures for the bridge suite: in-process bridges on port 0 with a temp data_dir, WebSocket clients
 * that keep every message they receive, and a polling wait with a deadline (never a fixed sleep).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { generateKeyPair, rfc3339, signPayload, type KeyPair } from '../../src/lib/core/index.js';
import { startBridge, type BridgeHandle, type StartBridgeOptions } from '../../relay/bridge.js';
import { loadConfig, type BridgeConfig } from '../../relay/config.js';

export async function makeTempDir(prefix = 'hearthnet-bridge-'): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Polls `condition` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(condition: () => T | Promise<T>, what: string, timeoutMs = 5000, intervalMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A config for tests: free ports, no HTTPS, no mDNS, silent, everything under `dir`. */
export function testConfig(dir: string, extraArgv: string[] = []): BridgeConfig {
  const argv = ['--port', '0', '--https-port', '0', '--no-mdns', '--log-level', 'silent', '--data-dir', join(dir, 'data'), '--app-dir', join(dir, 'app'), '--name', 'test-bridge', ...extraArgv];
  return loadConfig({ argv, env: {}, cwd: dir, hostname: 'test-host' });
}

export interface TestBridge {
  handle: BridgeHandle;
  dir: string;
  wsUrl: string;
  close(): Promise<void>;
}

export async function startTestBridge(extraArgv: string[] = [], options: StartBridgeOptions = {}): Promise<TestBridge> {
  const temp = await makeTempDir();
  const handle = await startBridge(testConfig(temp.path, extraArgv), options);
  return {
    handle,
    dir: temp.path,
    wsUrl: `${handle.httpUrl.replace('http', 'ws')}/signal`,
    async close() {
      await handle.close();
      await temp.remove();
    }
  };
}

export type Message = Record<string, any>;

/** A raw client of `/signal` that records everything it receives. */
export class TestClient {
  readonly received: Message[] = [];
  closeCode: number | null = null;
  private readonly opened: Promise<void>;

  constructor(
    readonly ws: WebSocket,
    readonly keyPair: KeyPair | null = null
  ) {
    ws.on('message', (data, isBinary) => {
      this.received.push(isBinary ? { binary: true } : JSON.parse(data.toString()));
    });
    ws.on('close', (code) => (this.closeCode = code));
    ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
  }

  static async connect(url: string, keyPair: KeyPair | null = null, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
    const client = new TestClient(new WebSocket(url, options), keyPair);
    await client.opened;
    return client;
  }

  /** The first received message matching `predicate`, waiting for it if needed. */
  async next(predicate: (m: Message) => boolean, what: string, timeoutMs = 3000): Promise<Message> {
    return waitFor(() => this.received.find(predicate), what, timeoutMs, 5);
  }

  ofType(t: string): Message[] {
    return this.received.filter((m) => m.t === t);
  }

  errors(code?: string): Message[] {
    return this.ofType('error').filter((m) => code === undefined || m.error.error === code);
  }

  async challenge(): Promise<Message> {
    return this.next((m) => m.t === 'challenge', 'challenge');
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  async waitClosed(timeoutMs = 3000): Promise<number> {
    return waitFor(() => this.closeCode, 'socket close', timeoutMs, 5);
  }

  close(): void {
    this.ws.close();
  }
}

export interface HelloFields {
  community?: string;
  display_name?: string;
  profile?: string;
  nonce?: string;
  timestamp?: string;
}

export async function signedHello(keyPair: KeyPair, nonce: string, fields: HelloFields = {}): Promise<Record<string, unknown>> {
  return signPayload(
    { node_id: keyPair.nodeId, community: 'demo', display_name: 'tester', profile: 'spark', nonce, timestamp: rfc3339(Date.now()), ...fields },
    keyPair
  );
}

/** Connects a fresh (or given) identity and completes admission; resolves after `welcome`. */
export async function joinAs(url: string, options: { keyPair?: KeyPair; community?: string; display_name?: string } = {}): Promise<TestClient> {
  const keyPair = options.keyPair ?? (await generateKeyPair());
  const client = await TestClient.connect(url, keyPair);
  const { nonce } = await client.challenge();
  const fields: HelloFields = {};
  if (options.community !== undefined) fields.community = options.community;
  if (options.display_name !== undefined) fields.display_name = options.display_name;
  client.send({ t: 'hello', hello: await signedHello(keyPair, nonce, fields) });
  await client.next((m) => m.t === 'welcome', 'welcome');
  return client;
}

export async function signedSignal(keyPair: KeyPair, to: string, data: unknown = { type: 'offer', sdp: 'v=0' }): Promise<Record<string, unknown>> {
  return signPayload({ from: keyPair.nodeId, to, timestamp: rfc3339(Date.now()), data }, keyPair);
}

export async function getJson(url: string): Promise<any> {
  const res = await fetch(url);
  return res.json();
}
