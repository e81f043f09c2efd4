/** Starts the real bridge as a separate process on a free port with its own data dir, and stops it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BridgeProcess {
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
  /** Stops (SIGTERM) or, with `crash`, kills (SIGKILL: no shutdown code runs) and starts again on the same port and data. */
  restart(options?: { crash?: boolean }): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForHealth(url: string, child: ChildProcess, output: () => string, deadlineMs = 20_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`bridge exited with ${child.exitCode}:\n${output()}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`bridge did not become healthy in ${deadlineMs} ms:\n${output()}`);
}

export async function startBridge(extraArgs: string[] = []): Promise<BridgeProcess> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'hearthnet-e2e-'));
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess;
  let log = '';

  async function launch(): Promise<void> {
    log = '';
    child = spawn(
      process.execPath,
      ['--import', 'tsx', 'relay/main.ts', '--port', String(port), '--https-port', '0', '--host', '0.0.0.0', '--data-dir', dataDir, '--mdns-interface', '127.0.0.1', '--log-level', 'warn', ...extraArgs],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } }
    );
    child.stdout?.on('data', (d) => (log += d));
    child.stderr?.on('data', (d) => (log += d));
    await waitForHealth(url, child, () => log);
  }

  async function stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  await launch();
  return {
    url,
    port,
    dataDir,
    stop: () => stop(),
    async restart(options = {}) {
      await stop(options.crash ? 'SIGKILL' : 'SIGTERM');
      await launch();
    }
  };
}

export function removeDataDir(bridge: BridgeProcess): void {
  rmSync(bridge.dataDir, { recursive: true, force: true });
}
