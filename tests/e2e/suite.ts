/**
 * One bridge per spec file, started before its first test and stopped (with every browser profile the file opened)
 * after its last; tests in the file run in order and share what earlier ones set up.
 */
import { test, type Browser, type BrowserContextOptions } from '@playwright/test';
import { openNode, type OpenNode } from './app.js';
import { removeDataDir, startBridge, type BridgeProcess } from './bridge-process.js';

export interface BridgeSuite {
  readonly bridge: BridgeProcess;
  readonly nodes: OpenNode[];
  /** A fresh browser profile (a separate node) with the app open; closed when the file ends. */
  open(browser: Browser, options?: BrowserContextOptions): Promise<OpenNode>;
}

/** `extraArgs` may be a function, for arguments known only once earlier `beforeAll`s ran (a stand-in server's URL). */
export function bridgeSuite(extraArgs: string[] | (() => string[]) = []): BridgeSuite {
  let bridge: BridgeProcess | null = null;
  const nodes: OpenNode[] = [];
  test.describe.configure({ mode: 'serial' });
  test.beforeAll(async () => {
    bridge = await startBridge(typeof extraArgs === 'function' ? extraArgs() : extraArgs);
  });
  test.afterAll(async () => {
    for (const node of nodes) await node.context.close();
    await bridge?.stop();
    if (bridge) removeDataDir(bridge);
  });
  return {
    get bridge() {
      if (!bridge) throw new Error('the bridge is not running (beforeAll failed?)');
      return bridge;
    },
    nodes,
    async open(browser, options) {
      const node = await openNode(browser, this.bridge.url, options);
      nodes.push(node);
      return node;
    }
  };
}
