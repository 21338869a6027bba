/**
 * Webhook settings of the trust server, from buildApp options or the environment
 * (`OCITRUST_WEBHOOK_*`). Kept apart from the general server options so the webhook feature
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

const ENV: readonly (readonly [keyof DelivererSettings, string])[] = [
  ['concurrency', 'OCITRUST_WEBHOOK_CONCURRENCY'],
  ['timeoutMs', 'OCITRUST_WEBHOOK_TIMEOUT_MS'],
  ['backoffBaseMs', 'OCITRUST_WEBHOOK_BACKOFF_BASE_MS'],
  ['backoffMaxMs', 'OCITRUST_WEBHOOK_BACKOFF_MAX_MS'],
  ['maxAgeMs', 'OCITRUST_WEBHOOK_MAX_AGE_MS'],
  ['leaseMs', 'OCITRUST_WEBHOOK_LEASE_MS'],
  ['pollMs', 'OCITRUST_WEBHOOK_POLL_MS'],
];

/**
 * Webhook settings from the environment: OCITRUST_WEBHOOK_ALLOW_PRIVATE and
 * OCITRUST_WEBHOOK_DELIVER (true/false; false: this instance only writes the outbox) and the
 * numbers OCITRUST_WEBHOOK_CONCURRENCY, _TIMEOUT_MS, _BACKOFF_BASE_MS, _BACKOFF_MAX_MS,
 * _MAX_AGE_MS (retry window), _LEASE_MS, _POLL_MS. Undefined when none is set.
 * @throws OcitrustError INVALID_ARGUMENT for a malformed value
 */
export function webhookOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): WebhookOptions | undefined {
  const o: Record<string, unknown> = {};
  const ap = env.OCITRUST_WEBHOOK_ALLOW_PRIVATE;
  if (ap !== undefined && ap !== '') {
    assertArg(/^(1|0|true|false|yes|no|on|off)$/i.test(ap), 'OCITRUST_WEBHOOK_ALLOW_PRIVATE', 'true or false', ap);
    o.allowPrivate = /^(1|true|yes|on)$/i.test(ap);
  }
  const dl = env.OCITRUST_WEBHOOK_DELIVER;
  if (dl !== undefined && dl !== '') {
    assertArg(/^(1|0|true|false|yes|no|on|off)$/i.test(dl), 'OCITRUST_WEBHOOK_DELIVER', 'true or false', dl);
    o.deliver = /^(1|true|yes|on)$/i.test(dl);
  }
  for (const [k, name] of ENV) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    assertArg(/^[0-9]{1,12}$/.test(v), name, 'a non-negative integer', v);
    o[k] = Number(v);
  }
  return Object.keys(o).length ? (o as WebhookOptions) : undefined;
}
