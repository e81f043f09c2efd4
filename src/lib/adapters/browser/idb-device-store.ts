/**
 * The device key and this node's small settings, in IndexedDB through `idb` (DESIGN §6: a tiny key-value store).
 * The private key is a non-extractable WebCrypto key where the browser has Ed25519; script can sign with it but
 * never read it. Browsers without WebCrypto Ed25519 keep a seed instead (and say so in `engine`).
 */
import { openDB, type IDBPDatabase } from 'idb';
import { keyPairFromCryptoKey, keyPairFromSeed, randomSeed, webCryptoEd25519, type KeyPair } from '../../core/index.js';

const DB_NAME = 'hearthnet-device';
const STORE = 'kv';

type StoredKey =
  | { kind: 'webcrypto'; privateKey: CryptoKey; publicKey: Uint8Array; createdAt: number }
  | { kind: 'seed'; seed: Uint8Array; createdAt: number };

export interface DeviceSettings {
  displayName?: string;
  /** This node offers experimental.echo@1.0 (a toggle on the Mesh page). */
  echoOffered?: boolean;
  /** An OpenAI-compatible model server this device offers to the mesh (Ask page), or absent. */
  llmServerUrl?: string | null;
  /** The model this browser runs and offers (loaded again at start), or absent. */
  deviceModel?: { backend: 'webllm' | 'transformers'; id: string; allowInternet: boolean } | null;
  /** The sentence-embedding model this browser runs from the bridge's mirror (loaded again at start), or absent. */
  embeddingModel?: string | null;
  /** The community this device is in or joining (with the invite text while joining). */
  community?: { id: string; invite?: string };
}

export class IdbDeviceStore {
  private constructor(private readonly db: IDBPDatabase) {}

  static async open(): Promise<IdbDeviceStore> {
    const db = await openDB(DB_NAME, 1, {
      upgrade(database) {
        database.createObjectStore(STORE);
      }
    });
    return new IdbDeviceStore(db);
  }

  /** Loads the device key, creating it silently on first run (PRD §9.5). */
  async loadOrCreateKey(): Promise<{ keyPair: KeyPair; created: boolean }> {
    const stored = (await this.db.get(STORE, 'device-key')) as StoredKey | undefined;
    if (stored?.kind === 'webcrypto') return { keyPair: keyPairFromCryptoKey(stored.privateKey, stored.publicKey), created: false };
    if (stored?.kind === 'seed') return { keyPair: await keyPairFromSeed(stored.seed), created: false };

    const subtle = await webCryptoEd25519();
    let record: StoredKey;
    if (subtle) {
      const pair = (await subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair;
      const publicKey = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
      record = { kind: 'webcrypto', privateKey: pair.privateKey, publicKey, createdAt: Date.now() };
    } else {
      record = { kind: 'seed', seed: randomSeed(), createdAt: Date.now() };
    }
    // add() fails if another context created a key first; then we use theirs so one profile has one key.
    try {
      await this.db.add(STORE, record, 'device-key');
    } catch {
      return this.loadOrCreateKey();
    }
    return { keyPair: record.kind === 'webcrypto' ? keyPairFromCryptoKey(record.privateKey, record.publicKey) : await keyPairFromSeed(record.seed), created: true };
  }

  async settings(): Promise<DeviceSettings> {
    return ((await this.db.get(STORE, 'settings')) as DeviceSettings | undefined) ?? {};
  }

  async saveSettings(settings: DeviceSettings): Promise<void> {
    await this.db.put(STORE, settings, 'settings');
  }
}

