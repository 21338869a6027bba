/**
 * Delivery bodies. `cloudevents` (default) is the CloudEvents 1.0 structured JSON event;
 * `slack` is a Slack incoming-webhook message (`text` plus `blocks`); `chat` is a generic chat
 * message understood by Mattermost, Rocket.Chat and Discord (`text` and `content`). Every format
 * is signed the same way and carries the same `webhook-id`.
 */
import type { CloudEvent } from './events.js';

/** The body formats a subscription can choose. */
export const FORMATS = ['cloudevents', 'slack', 'chat'] as const;
/** A body format. */
export type Format = (typeof FORMATS)[number];

const s = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : v === undefined || v === null ? '' : JSON.stringify(v));

/** One line saying what happened, for chat formats. */
export function summary(e: CloudEvent): string {
  const d = e.data as Record<string, unknown>;
  const c = e.subject ?? '';
  const short = e.type.replace(/^dev\.ocitrust\./, '');
  switch (short) {
    case 'collection.created':
      return `Trust collection ${c} created by ${s(d.createdBy)}`;
    case 'signer.added':
      return `Signer ${s(d.signer)} added to ${c} by ${s(d.publishedBy)}`;
    case 'signer.removed':
      return `Signer ${s(d.signer)} removed from ${c} by ${s(d.publishedBy)}`;
    case 'key.rotated':
      return `Keys of ${s(d.role)} in ${c} changed by ${s(d.publishedBy)} (+${(d.keyidsAdded as unknown[] | undefined)?.length ?? 0} −${(d.keyidsRemoved as unknown[] | undefined)?.length ?? 0})`;
    case 'targets.published':
      return `Targets of ${c} published as version ${s(d.version)} by ${s(d.publishedBy)}`;
    case 'signature.created':
      return `Signature pushed for ${s(d.repository)}@${s(d.digest)}${d.tag ? ` (${s(d.tag)})` : ''}${d.role ? ` by role ${s(d.role)}` : ''}`;
    case 'signature.revoked':
      return `Signature of ${c}@${s(d.digest)} revoked: ${s(d.reason)}`;
    case 'token.created':
      return `Token ${s(d.tokenId)} (${s(d.role)}) created by ${s(d.createdBy)}`;
    case 'token.revoked':
      return `Token ${s(d.tokenId)} revoked by ${s(d.revokedBy)}`;
    case 'admission.denied':
      return `Admission denied: ${s(d.image)} in ${s(d.namespace)}/${s(d.object)} (${s((d.codes as unknown[] | undefined)?.join(', '))})`;
    case 'proxy.denied':
      return `Proxy denied pull of ${s(d.repository)}@${s(d.reference)}: ${s(d.code)}`;
    case 'trust.stale':
      return `Trust data of ${c || 'the server'} going stale: ${s(d.reason)}`;
    case 'webhook.test':
      return `ocitrust webhook test for subscription ${s(d.subscription)}`;
    default:
      return `${e.type}${c ? ` on ${c}` : ''}`;
  }
}

/** The body and content type of a delivery of `e` in `format`. */
export function render(e: CloudEvent, format: Format): { body: string; contentType: string } {
  if (format === 'cloudevents') return { body: JSON.stringify(e), contentType: 'application/cloudevents+json' };
  const text = summary(e);
  const ref = { id: e.id, type: e.type, ...(e.subject ? { subject: e.subject } : {}), time: e.time };
  if (format === 'slack') {
    return {
      body: JSON.stringify({
        text,
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: text.replace(/[&<>]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[ch]!) } },
          { type: 'context', elements: [{ type: 'mrkdwn', text: `${e.type} · ${e.id} · ${e.time}` }] },
        ],
      }),
      contentType: 'application/json',
    };
  }
  return { body: JSON.stringify({ text, content: text, event: ref }), contentType: 'application/json' };
}
