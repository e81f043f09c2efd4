/**
 * Gathering trusted co-signatures for a demotion or revocation (contract §4.18, PROTOCOL.md K4, K7). The proposer asks
 * each trusted member it can reach through `community.cosign@1.0`; on the asked device a person sees the request and
 * approves or declines it; the proposer writes the event once enough trusted members signed. Nothing is signed
 * without a person saying so, and a request nobody answers ends after COSIGN_WAIT_MS.
 */
import { HearthError, type Clock } from '../core/index.js';
import type { CapabilityRegistration } from '../bus/index.js';
import type { Community } from './community.js';
import { isLowerLevel, isTrustedLevel, type CoSigner, type MemberLevel } from './community-view.js';
import type { TrustAction } from './signatures.js';

export const COSIGN_CAPABILITY = 'community.cosign';
export const COSIGN_VERSION = '1.0';
/** How long a request waits for a person on the asked device. */
export const COSIGN_WAIT_MS = 10 * 60_000;
const MAX_PENDING = 32;
const MAX_PENDING_PER_CALLER = 4;
export const COSIGN_ACTIONS: readonly TrustAction[] = ['community.member.demoted', 'community.member.revoked'];
export const REVOKE_REASONS = ['compromised', 'inactive', 'policy_violation', 'other'] as const;

export interface CosignRequest {
  id: string;
  from: string;
  action: TrustAction;
  intent: Record<string, unknown>;
  receivedAt: number;
}

interface Pending extends CosignRequest {
  settle(approved: boolean): void;
}

/** The asked side: holds requests until a person answers them. */
export class CosignInbox {
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly community: Community,
    private readonly clock: Clock,
    private readonly nextId: () => string
  ) {}

  requests(): CosignRequest[] {
    return [...this.pending.values()].map(({ settle: _s, ...request }) => request);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  answer(id: string, approved: boolean): void {
    const request = this.pending.get(id);
    if (!request) throw new HearthError('not_found', 'that request is no longer waiting (answered, withdrawn or timed out)');
    request.settle(approved);
  }

  registration(): CapabilityRegistration {
    return {
      name: COSIGN_CAPABILITY,
      version: COSIGN_VERSION,
      owner: 'community',
      stability: 'beta',
      trustRequired: 'trusted',
      timeoutSeconds: COSIGN_WAIT_MS / 1000,
      maxConcurrent: MAX_PENDING,
      requestSchema: {
        type: 'object',
        required: ['input'],
        properties: {
          params: { type: 'object' },
          input: {
            type: 'object',
            required: ['action', 'intent'],
            additionalProperties: false,
            properties: {
              action: { enum: [...COSIGN_ACTIONS] },
              intent: {
                type: 'object',
                required: ['target_node_id', 'client_id'],
                additionalProperties: false,
                properties: {
                  target_node_id: { type: 'string', maxLength: 64 },
                  client_id: { type: 'string', maxLength: 64 },
                  reason: { enum: [...REVOKE_REASONS] },
                  new_level: { enum: ['member', 'trusted'] }
                }
              }
            }
          }
        }
      },
      handler: (body, ctx) => {
        const { action, intent } = (body as { input: { action: TrustAction; intent: Record<string, unknown> } }).input;
        this.checkIntent(action, intent);
        this.checkQuota(ctx.caller);
        return new Promise((resolve, reject) => {
          const id = this.nextId();
          const done = (outcome: () => void) => {
            if (!this.pending.delete(id)) return;
            ctx.signal.removeEventListener('abort', onAbort);
            outcome();
            this.changed();
          };
          const onAbort = () => done(() => reject(new HearthError('timeout', 'the request was withdrawn or timed out')));
          ctx.signal.addEventListener('abort', onAbort, { once: true });
          this.pending.set(id, {
            id,
            from: ctx.caller,
            action,
            intent,
            receivedAt: this.clock.now(),
            settle: (approved) =>
              done(() => {
                if (!approved) return reject(new HearthError('unauthorized', 'the person on that device declined to co-sign'));
                this.community.coSign(action, intent).then((coSigner) => resolve({ output: { co_signer: coSigner } }), reject);
              })
          });
          this.changed();
        });
      }
    };
  }

  private checkIntent(action: TrustAction, intent: Record<string, unknown>): void {
    const target = intent.target_node_id as string;
    const member = this.community.view.member(target);
    if (!member) throw new HearthError('not_found', `${target} is not a member of this community`);
    if (action === 'community.member.revoked' && typeof intent.reason !== 'string') throw new HearthError('bad_request', 'a revocation needs a reason');
    if (action === 'community.member.demoted' && (typeof intent.new_level !== 'string' || !isLowerLevel(intent.new_level as MemberLevel, member.level))) {
      throw new HearthError('bad_request', `a demotion must name a level below ${member.level}`);
    }
  }

  /** One trusted member may not crowd out the others' requests. */
  private checkQuota(caller: string): void {
    const fromCaller = [...this.pending.values()].filter((r) => r.from === caller).length;
    if (fromCaller >= MAX_PENDING_PER_CALLER) throw new HearthError('bad_request', `you already have ${fromCaller} co-sign requests waiting on this device`);
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }
}


export interface ProposalProgress {
  action: TrustAction;
  target: string;
  needed: number;
  signed: string[];
  declined: string[];
  waitingFor: string[];
}

/**
 * The proposing side: asks every other trusted member in `reachable` at once and commits as soon as the policy's
 * count is met (the proposer's own signature counts). Throws `unauthorized` when too few can or will sign.
 */
export async function proposeTrustAction(
  community: Community,
  action: TrustAction,
  target: string,
  detail: { reason?: string; newLevel?: MemberLevel },
  ask: (node: string, input: unknown) => Promise<unknown>,
  reachable: string[],
  onProgress: (progress: ProposalProgress) => void = () => {}
): Promise<void> {
  const policy = community.view.policy;
  const needed = action === 'community.member.revoked' ? (policy?.min_signatures_to_revoke ?? 3) : (policy?.min_signatures_to_demote ?? 3);
  const intent = community.trustIntent(action, target, detail);
  const isTrusted = (id: string) => isTrustedLevel(community.view.levelOf(id));
  const signers = reachable.filter((id) => id !== community.selfId && id !== target && isTrusted(id));
  const have = isTrusted(community.selfId) ? 1 : 0;
  if (have + signers.length < needed) {
    throw new HearthError('unauthorized', `this needs ${needed} trusted signatures; with this device, ${have + signers.length} trusted member${have + signers.length === 1 ? ' is' : 's are'} reachable now`);
  }
  const progress: ProposalProgress = { action, target, needed, signed: have ? [community.selfId] : [], declined: [], waitingFor: [...signers] };
  onProgress(progress);
  const coSigners: CoSigner[] = [];
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const check = () => {
      if (settled) return;
      if (have + coSigners.length >= needed) {
        settled = true;
        resolve();
      } else if (progress.waitingFor.length === 0) {
        settled = true;
        reject(new HearthError('unauthorized', `only ${have + coSigners.length} of the ${needed} trusted signatures needed were given`));
      }
    };
    for (const node of signers) {
      ask(node, { action, intent })
        .then((answer) => {
          const coSigner = (answer as { output?: { co_signer?: CoSigner } }).output?.co_signer;
          if (coSigner && coSigner.node_id === node) {
            coSigners.push(coSigner);
            progress.signed.push(node);
          } else progress.declined.push(node);
        })
        .catch(() => progress.declined.push(node))
        .finally(() => {
          progress.waitingFor = progress.waitingFor.filter((id) => id !== node);
          onProgress(progress);
          check();
        });
    }
    check();
  });
  await community.commitTrustAction(action, intent, coSigners);
}
