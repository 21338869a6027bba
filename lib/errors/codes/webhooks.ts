import type { CodeTable } from '../spec.js';

/** Error codes of the webhooks area (subscriptions and deliveries). docs/errors.md is generated from them. */
export const webhooksCodes = {
  WEBHOOK_URL_INVALID: {
    meaning: 'A webhook URL is not an absolute http(s) URL without credentials, or is longer than 2048 characters.',
    action: 'Give a URL like https://ci.example.com/hooks/ocitrust (credentials belong in the signing secret, not in the URL).',
    exit: 2,
    http: 400,
  },
  WEBHOOK_ADDRESS_REFUSED: {
    meaning: 'A webhook URL names or resolves to a private, loopback, link-local or otherwise internal address, which the server refuses to call (SSRF protection).',
    action: 'Use a public receiver, or let the operator allow internal receivers with --webhook-allow-private / OCITRUST_WEBHOOK_ALLOW_PRIVATE (loopback receivers are allowed when the server listens only on loopback).',
    exit: 2,
    http: 400,
  },
  WEBHOOK_EVENTS_INVALID: {
    meaning: 'An event list names an event type the server does not know (a typo or an event of a newer version).',
    action: 'Use the short names or dev.ocitrust.* types listed in docs/webhooks.md, comma-separated; leave the list out for every event.',
    exit: 2,
    http: 400,
  },
  WEBHOOK_SECRET_INVALID: {
    meaning: 'A webhook signing secret is not a Standard Webhooks secret (whsec_ followed by base64 of 24 to 64 random bytes), or more than two secrets were given.',
    action: 'Generate one with: echo "whsec_$(openssl rand -base64 32)" > secret; during a rotation the file may hold the new and the old secret, one per line.',
    exit: 2,
    http: 400,
  },
  WEBHOOK_NOT_FOUND: {
    meaning: 'The server has no webhook subscription (or delivery) with that id.',
    action: 'List subscriptions with trust server webhook list and deliveries with trust server webhook deliveries.',
    exit: 2,
    http: 404,
  },
  WEBHOOK_DELIVERY_FAILED: {
    meaning: 'A webhook delivery did not get a 2xx answer: the receiver was unreachable, timed out, answered with an error or a redirect (redirects are never followed).',
    action: 'Check the receiver; the delivery is retried with backoff for up to a day, then parked (trust server webhook deliveries --dead; resend with trust server webhook redeliver).',
    exit: 3,
    http: 502,
  },
} as const satisfies CodeTable;
