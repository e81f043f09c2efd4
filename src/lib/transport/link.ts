/**
 * The Link port: one ordered, reliable, message-oriented connection to one authenticated peer. Implemented by
 * a WebRTC data channel (browser main thread, forwarded to the worker), the bridge relay, and an in-memory link
 * for tests. `remoteNodeId` is who the link is bound to; frames claiming another sender are refused.
 */
export type LinkPath = 'webrtc' | 'relay' | 'memory';

export type LinkFrame = string | Uint8Array;

export interface Link {
  readonly id: string;
  readonly remoteNodeId: string;
  readonly path: LinkPath;
  /**
   * Resolves when the frame is handed to the carrier; waits while the carrier's buffer is full (backpressure). A
   * binary frame belongs to the link from then on (it may send or transfer that buffer without copying it): the
   * caller must not change or reuse it.
   */
  send(frame: LinkFrame): Promise<void>;
  onFrame(listener: (frame: LinkFrame) => void): void;
  onClose(listener: () => void): void;
  close(): void;
  readonly closed: boolean;
}
