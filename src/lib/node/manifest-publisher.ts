/**
 * Our own node manifest: signed at start, re-signed every 20 s and whenever what it says changes (P1, W6). Builds
 * are serialised, so a rename during a periodic rebuild can never be overwritten by the older one.
 */
import { buildNodeManifest, type Clock, type KeyPair, type NodeManifest, type NodeManifestInput } from '../core/index.js';

export class ManifestPublisher {
  private latest: Promise<NodeManifest>;
  private readonly startedMs: number;

  constructor(
    private readonly keyPair: KeyPair,
    private readonly clock: Clock,
    private readonly describe: () => Omit<NodeManifestInput, 'uptimeSeconds'>
  ) {
    this.startedMs = clock.now();
    this.latest = this.build();
  }

  /** The newest manifest, waiting for a build in progress. */
  current(): Promise<NodeManifest> {
    return this.latest;
  }

  /** Signs a fresh manifest from the current description. */
  rebuild(): Promise<NodeManifest> {
    // Chain on the previous build even if it failed, so one bad build does not wedge republishing.
    this.latest = this.latest.then(
      () => this.build(),
      () => this.build()
    );
    return this.latest;
  }

  private build(): Promise<NodeManifest> {
    const uptimeSeconds = Math.floor((this.clock.now() - this.startedMs) / 1000);
    return buildNodeManifest(this.keyPair, { ...this.describe(), uptimeSeconds }, this.clock);
  }
}
