/** relay/main.ts as an operator runs it: one-line config errors with exit 2, JSON logs, clean SIGTERM. */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, waitFor } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const MAIN = join(ROOT, 'relay', 'main.ts');

interface Run {
  stdout: string;
  stderr: string;
  code: number | null;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

function run(args: string[], cwd: string, env: Record<string, string> = {}): Run {
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HEARTHNET_')));
  const child = spawn(TSX, [MAIN, ...args], { cwd, env: { ...cleanEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const result: Run = {
    stdout: '',
    stderr: '',
    code: null,
    exited: new Promise((done) => child.on('exit', (code) => done((result.code = code)))),
    kill: (signal) => child.kill(signal)
  };
  child.stdout.on('data', (chunk) => (result.stdout += chunk));
  child.stderr.on('data', (chunk) => (result.stderr += chunk));
  return result;
}

describe('relay/main.ts', () => {
  it('prints one line naming the setting and its source, and exits 2, on a bad setting', async () => {
    const temp = await makeTempDir();
    try {
      const bad = run(['--port', 'abc'], temp.path);
      const badEnv = run([], temp.path, { HEARTHNET_LOG_LEVEL: 'chatty' });
      expect(await bad.exited).toBe(2);
      expect(bad.stderr).toBe('config: port must be an integer 0-65535 (got "abc" from --port)\n');
      expect(bad.stdout).toBe('');
      expect(await badEnv.exited).toBe(2);
      expect(badEnv.stderr).toBe('config: log_level must be one of trace|debug|info|warn|error|fatal|silent (got "chatty" from HEARTHNET_LOG_LEVEL)\n');
    } finally {
      await temp.remove();
    }
  });

  it('starts, logs JSON lines, serves /health, and shuts down on SIGTERM', async () => {
    const temp = await makeTempDir();
    try {
      const bridge = run(['--port', '0', '--https-port', '0', '--no-mdns', '--data-dir', 'data', '--name', 'cli'], temp.path);
      const started = await waitFor(
        () => bridge.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line)).find((entry) => entry.msg === 'bridge started'),
        'the started log line',
        15_000
      );
      expect(started).toMatchObject({ level: 'info', logger: 'relay.bridge', name: 'cli' });
      expect(Date.parse(started.ts)).not.toBeNaN();
      const health = await (await fetch(`${started.http}/health`)).json();
      expect(health).toMatchObject({ status: 'ok', name: 'cli' });
      expect(bridge.stderr).toContain(`On this machine:  http://localhost:${new URL(started.http).port}`);

      bridge.kill('SIGTERM');
      expect(await bridge.exited).toBe(0);
      const lines = bridge.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
      for (const entry of lines) expect(Object.keys(entry).slice(0, 2)).toEqual(['level', 'ts']);
      expect(lines.map((entry) => entry.msg)).toEqual(expect.arrayContaining(['shutting down', 'bridge closed']));
    } finally {
      await temp.remove();
    }
  });
});
