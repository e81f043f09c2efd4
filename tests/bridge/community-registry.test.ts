/** `<data_dir>/communities.json` and the replicas it lists, when something on disk is wrong. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBridge } from '../../relay/bridge.js';
import { COMMUNITIES_DIR, COMMUNITIES_FILE } from '../../relay/community-registry.js';
import { eventStorePath } from '../../relay/sqlite-event-store.js';
import { foundCommunity, listHeld, makeInvite, postJson } from './community-fixtures.js';
import { makeTempDir, testConfig } from './helpers.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function tempConfig() {
  const temp = await makeTempDir();
  cleanup.push(temp.remove);
  const config = testConfig(temp.path);
  await mkdir(config.dataDir, { recursive: true });
  return config;
}

describe('the list of held communities', () => {
  it('a damaged communities.json stops the bridge with a message, and is left as it was', async () => {
    const config = await tempConfig();
    const path = join(config.dataDir, COMMUNITIES_FILE);
    await writeFile(path, '{"version": 1, "communities": [{"community_id": "oak"}]}');
    await expect(startBridge(config)).rejects.toThrow(/communities\.json: communities\[0\]\.community_id is not a community id; fix the file or move it away/);
    await writeFile(path, 'not json');
    await expect(startBridge(config)).rejects.toThrow(/not valid JSON/);
    expect(await readFile(path, 'utf8')).toBe('not json');
  });

  it('a replica that cannot be opened is skipped, stays listed, and the other communities come up', async () => {
    const config = await tempConfig();
    const good = await foundCommunity('Good');
    const broken = await foundCommunity('Broken');
    let bridge = await startBridge(config);
    for (const holder of [good, broken]) {
      const invite = await makeInvite(holder); // one-scan; nobody online, so both stay joining
      expect((await postJson(`${bridge.httpUrl}/bridge/community/join`, { invite: invite.blob })).body.status).toBe('joining');
    }
    await bridge.close();
    await writeFile(eventStorePath(join(config.dataDir, COMMUNITIES_DIR), broken.community.communityId), 'this is not a database, just some bytes '.repeat(200));

    bridge = await startBridge(config);
    cleanup.push(() => bridge.close());
    expect((await listHeld(bridge.httpUrl)).map((c) => c.name)).toEqual(['Good']);
    const stored = JSON.parse(await readFile(join(config.dataDir, COMMUNITIES_FILE), 'utf8'));
    expect(stored.communities.map((c: { community_id: string }) => c.community_id).sort()).toEqual([good.community.communityId, broken.community.communityId].sort());
    const again = await postJson(`${bridge.httpUrl}/bridge/community/join`, { invite: (await makeInvite(broken)).blob });
    expect(again).toMatchObject({ status: 500, body: { error: 'internal_error' } });
  });
});
