/**
 * The test network namespace's direct links (tests/netns-run.sh). Taking the veth pair down models a network that
 * blocks peer-to-peer traffic: WebRTC has no usable path, while the bridge stays reachable on loopback.
 */
import { execFileSync } from 'node:child_process';

function setVeth(state: 'up' | 'down'): void {
  if (process.env.HEARTHNET_IN_NETNS !== '1') throw new Error('run end-to-end tests through tests/netns-run.sh');
  for (const dev of ['v0', 'v1']) execFileSync('ip', ['link', 'set', dev, state]);
  if (state === 'up') execFileSync('ip', ['route', 'replace', 'default', 'via', '10.200.0.2', 'dev', 'v0']);
}

export const blockDirectLinks = (): void => setVeth('down');
export const restoreDirectLinks = (): void => setVeth('up');
