/**
 * M02 §3.3: two bridges on loopback-only mDNS (interface 127.0.0.1, TESTING.md) find each other and list each
 * other in /health, and a bridge that shuts down is dropped at once through its goodbye packet.
 */
import { Bonjour } from 'bonjour-service';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/lib/core/index.js';
import { silentLogger } from '../../relay/logger.js';
import { instanceName, multicastOptions, startMdns, SERVICE_TYPE, txtRecord } from '../../relay/mdns.js';
import { getJson, startTestBridge, waitFor, type TestBridge } from './helpers.js';

const LOOPBACK_MDNS = ['--mdns', '--mdns-interface', '127.0.0.1'];

describe('mDNS presence', () => {
  it('names the instance after the bridge and the short id, and publishes the M02 TXT keys', () => {
    expect(instanceName('kitchen-pi', 'ed25519:MYNW-Q2HO-D6PI-VNHH')).toBe('kitchen-pi-MYNW');
    expect(txtRecord('ed25519:MYNW-Q2HO-D6PI-VNHH', 'http://127.0.0.1:1/manifest')).toEqual({
      v: '1',
      node: 'ed25519:MYNW-Q2HO-D6PI-VNHH',
      community: '-',
      profile: 'bridge',
      caps: '',
      manifest_url: 'http://127.0.0.1:1/manifest',
      contract_version: '1.0'
    });
    expect(multicastOptions('127.0.0.1')).toEqual({ interface: '127.0.0.1', bind: '0.0.0.0' });
  });

  it('two bridges on loopback list each other in /health, and forget one that leaves', async () => {
    const bridges: TestBridge[] = [];
    try {
      bridges.push(await startTestBridge(['--name', 'north', ...LOOPBACK_MDNS]));
      bridges.push(await startTestBridge(['--name', 'south', ...LOOPBACK_MDNS]));
      const [north, south] = bridges;
      const heardBy = async (b: TestBridge) => (await getJson(`${b.handle.httpUrl}/health`)).bridges as Record<string, any>[];

      const southSeen = await waitFor(async () => (await heardBy(north)).find((x) => x.node === south.handle.shortId), 'north to hear south', 10_000);
      const northSeen = await waitFor(async () => (await heardBy(south)).find((x) => x.node === north.handle.shortId), 'south to hear north', 10_000);

      expect(southSeen).toMatchObject({
        name: instanceName('south', south.handle.shortId),
        port: south.handle.port,
        profile: 'bridge',
        community: '-',
        contract_version: '1.0',
        manifest_url: `http://127.0.0.1:${south.handle.port}/manifest`
      });
      expect(northSeen.port).toBe(north.handle.port);
      // Neither lists itself.
      expect((await heardBy(north)).map((x) => x.node)).not.toContain(north.handle.shortId);
      // What mDNS advertises is usable: the manifest URL answers with the bridge's signed manifest.
      expect((await getJson(southSeen.manifest_url)).node_id).toBe(south.handle.nodeId);

      await south.close();
      bridges.pop();
      await waitFor(async () => (await heardBy(north)).length === 0, 'north to drop south after its goodbye', 10_000);
    } finally {
      for (const b of bridges) await b.close();
    }
  });

  it('drops a bridge that went silent without a goodbye (crashed) after the prune window', async () => {
    const presence = startMdns({
      name: 'watcher',
      shortId: 'ed25519:AAAA-AAAA-AAAA-AAAA',
      port: 1,
      manifestUrl: 'http://127.0.0.1:1/manifest',
      interface: '127.0.0.1',
      logger: silentLogger(),
      clock: systemClock,
      requeryIntervalMs: 100,
      pruneAfterMs: 400
    });
    const crashing = new Bonjour(multicastOptions('127.0.0.1') as never, () => {});
    try {
      crashing.publish({ name: 'crashy-BBBB', type: SERVICE_TYPE, port: 2, probe: false, txt: txtRecord('ed25519:BBBB-BBBB-BBBB-BBBB', 'http://127.0.0.1:2/manifest') });
      await waitFor(() => presence.bridges().some((b) => b.node === 'ed25519:BBBB-BBBB-BBBB-BBBB'), 'the crashing bridge to be heard', 10_000);
      crashing.destroy(); // closes the socket without sending the goodbye
      await waitFor(() => presence.bridges().length === 0, 'the silent bridge to be pruned', 10_000);
    } finally {
      crashing.destroy();
      await presence.close();
    }
  });
});
