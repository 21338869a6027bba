/**
 * Webhook settings of the trust server, from buildApp options (the `OCITRUST_WEBHOOK_*` variables
 * and `--webhook-*` flags reach them through the one settings table, server/config/settings.ts). Kept apart from the general server options so the webhook feature
 * stays one self-contained block.
 */
import { assertArg } from '../../lib/errors/index.js';
import type { DelivererSettings } from './deliverer.js';

/** The `webhooks` option of buildApp. */
export interface WebhookOptions extends Partial<DelivererSettings> {
  /** Call private, link-local and loopback receivers too (`--webhook-allow-private`; default false). */
  readonly allowPrivate?: boolean;
  /** Run the deliverer in this instance (default true; an instance with false only writes the outbox). */
  readonly deliver?: boolean;
}

/** {@link WebhookOptions} with defaults applied. */
export interface ResolvedWebhookOptions extends DelivererSettings {
  readonly allowPrivate: boolean;
  readonly deliver: boolean;
}

function int(v: number | undefined, name: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  assertArg(Number.isSafeInteger(v) && v >= min && v <= max, `webhooks.${name}`, `an integer from ${min} to ${max}`, v);
  return v;
}

/**
 * Applies defaults and checks values.
 * @throws OcitrustError INVALID_ARGUMENT
 */
export function resolveWebhookOptions(o: WebhookOptions = {}): ResolvedWebhookOptions {
  const timeoutMs = int(o.timeoutMs, 'timeoutMs', 10_000, 10, 120_000);
  return {
    allowPrivate: o.allowPrivate ?? false,
    deliver: o.deliver ?? true,
    concurrency: int(o.concurrency, 'concurrency', 8, 1, 256),
    timeoutMs,
    backoffBaseMs: int(o.backoffBaseMs, 'backoffBaseMs', 5_000, 1, 86_400_000),
    backoffMaxMs: int(o.backoffMaxMs, 'backoffMaxMs', 3_600_000, 1, 86_400_000),
    maxAgeMs: int(o.maxAgeMs, 'maxAgeMs', 86_400_000, 1, 7 * 86_400_000),
    leaseMs: int(o.leaseMs, 'leaseMs', timeoutMs + 30_000, timeoutMs + 1, 86_400_000),
    pollMs: int(o.pollMs, 'pollMs', 1_000, 5, 3_600_000),
  };
}
