/**
 * Everything an inbound frame passes before it may touch state: decoding (size, JSON, shape, P2, signature),
 * then for calls the timestamp window (P3) and the replay cache (P4). The cache is shared by all links of a node,
 * so a call replayed over a second path to us is still caught.
 */
import { CALL_TIMESTAMP_WINDOW_SECONDS, isWithinClockWindow } from '../core/index.js';
import { decodeFrame, type DecodeContext } from './frames.js';
import type { AdmitResult } from './frame-types.js';
import type { LinkFrame } from './link.js';
import type { ReplayCache } from './replay-cache.js';

export interface GateContext extends DecodeContext {
  replay: ReplayCache;
}

export async function admitFrame(raw: LinkFrame, context: GateContext): Promise<AdmitResult> {
  const decoded = await decodeFrame(raw, context);
  if (!decoded.ok || decoded.frame.t !== 'call') return decoded;

  const call = decoded.frame.call;
  const requestId = call.request_id;
  if (!isWithinClockWindow(call.timestamp, context.clock.now(), CALL_TIMESTAMP_WINDOW_SECONDS)) {
    const message = `call timestamp ${call.timestamp} is more than ${CALL_TIMESTAMP_WINDOW_SECONDS} s from our clock`;
    return { ok: false, rejection: { code: 'expired', message, t: 'call', requestId } };
  }

  const verdict = context.replay.check(call.from, requestId);
  if (verdict.kind === 'replayed') {
    return { ok: false, rejection: { code: 'bad_request', message: 'replayed request_id', t: 'call', requestId } };
  }
  if (verdict.kind === 'full') {
    const message = `too many recent calls to check for replays; retry in ${verdict.retryAfterMs} ms`;
    return { ok: false, rejection: { code: 'rate_limited', message, t: 'call', requestId, retryAfterMs: verdict.retryAfterMs } };
  }
  return decoded;
}
