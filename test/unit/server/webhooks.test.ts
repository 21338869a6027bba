// Pure parts of the webhook feature: Standard Webhooks signing (the specification's test
// vector), address classification, event-list parsing, the publish diff, backoff and bodies.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isOcitrustError } from '../../../lib/errors/index.js';
import { classify, guardedLookup, parseWebhookUrl } from '../../../server/webhooks/address.js';
import { backoffDelay } from '../../../server/webhooks/deliverer.js';
import { cloudEvent, parseEventList } from '../../../server/webhooks/events.js';
import { render } from '../../../server/webhooks/formats.js';
import { checkSecret, parseSecrets, signatureHeader, verifySignature } from '../../../server/webhooks/signing.js';
import { wants } from '../../../server/webhooks/outbox.js';

describe('Standard Webhooks signing', () => {
  // The test vector of the Standard Webhooks reference libraries.
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const body = '{"test": 2432232314}';

  it('matches the specification vector', () => {
    assert.equal(signatureHeader([secret], id, 1614265330, body), 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    assert.ok(verifySignature(secret, { id, timestamp: '1614265330', signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' }, body, 1614265330));
  });

  it('signs with both secrets during a rotation and checks the timestamp window', () => {
    const other = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
    const h = signatureHeader([other, secret], id, 1614265330, body);
    assert.equal(h.split(' ').length, 2);
    assert.ok(verifySignature(secret, { id, timestamp: '1614265330', signature: h }, body, 1614265330));
    assert.ok(verifySignature(other, { id, timestamp: '1614265330', signature: h }, body, 1614265330));
    assert.ok(!verifySignature(secret, { id, timestamp: '1614265330', signature: h }, body, 1614265330 + 301), 'outside the 5 min window');
    assert.ok(!verifySignature(secret, { id, timestamp: '1614265330', signature: h }, body + ' ', 1614265330), 'body changed');
  });

  it('accepts whsec_ + base64 of 24-64 bytes, one or two of them', () => {
    assert.equal(checkSecret(secret), secret);
    for (const bad of ['', 'whsec_', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_c2hvcnQ=', 'whsec_' + Buffer.alloc(65).toString('base64'), 'whsec_a*b']) {
      assert.throws(() => checkSecret(bad), (e: unknown) => isOcitrustError(e, 'WEBHOOK_SECRET_INVALID'), bad);
    }
    assert.deepEqual(parseSecrets(`# rotation\n${secret}\n\n${secret}\n`), [secret, secret]);
    assert.throws(() => parseSecrets([secret, secret, secret]), (e: unknown) => isOcitrustError(e, 'WEBHOOK_SECRET_INVALID'));
  });
});

describe('webhook addresses', () => {
  it('classifies loopback, internal and public addresses, mapped IPv6 included', () => {
    for (const a of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1']) assert.equal(classify(a), 'loopback', a);
    for (const a of ['10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::', 'fd00::1', 'fe80::1', '::ffff:10.0.0.1', '64:ff9b::a00:1', '224.0.0.1', 'not-an-ip']) {
      assert.equal(classify(a), 'internal', a);
    }
    for (const a of ['93.184.216.34', '2606:4700::1111', '8.8.8.8']) assert.equal(classify(a), 'public', a);
  });

  it('parses URLs strictly', () => {
    assert.equal(parseWebhookUrl('https://ci.example.com/h#frag').toString(), 'https://ci.example.com/h');
    for (const bad of ['', 'ci.example.com/h', 'file:///etc/passwd', 'http://u:p@h/', 'javascript:alert(1)']) {
      assert.throws(() => parseWebhookUrl(bad), (e: unknown) => isOcitrustError(e, 'WEBHOOK_URL_INVALID'), bad);
    }
  });

  it('refuses, at connect time, a name that resolves to a forbidden address', async () => {
    const lookup = guardedLookup({ allowPrivate: false, allowLoopback: () => false });
    const err = await new Promise<unknown>((resolve) => lookup('localhost', {}, (e) => resolve(e)));
    assert.ok(isOcitrustError(err, 'WEBHOOK_ADDRESS_REFUSED'), String(err));
    const ok = guardedLookup({ allowPrivate: false, allowLoopback: () => true });
    const addr = await new Promise<unknown>((resolve) => ok('localhost', {}, (e, a) => resolve(e ?? a)));
    assert.equal(classify(String(addr)), 'loopback');
  });
});

describe('event lists and filters', () => {
  it('takes short names or full types, * for all, and names the likely intended one on a typo', () => {
    assert.deepEqual(parseEventList(undefined), ['*']);
    assert.deepEqual(parseEventList('signer.added, dev.ocitrust.signature.revoked,signer.added'), ['signer.added', 'signature.revoked']);
    assert.deepEqual(parseEventList(['a.b', '*'].slice(1)), ['*']);
    assert.throws(() => parseEventList('signer.aded'), (e: unknown) => isOcitrustError(e, 'WEBHOOK_EVENTS_INVALID') && /did you mean signer\.added/.test((e as Error).message));
    assert.throws(() => parseEventList(''), (e: unknown) => isOcitrustError(e, 'WEBHOOK_EVENTS_INVALID'));
  });

  it('matches collections by pattern; server-wide events only without a collection filter', () => {
    assert.ok(wants({ events: ['*'], collections: ['**'] }, 'token.created', null));
    assert.ok(!wants({ events: ['*'], collections: ['reg/team/*'] }, 'token.created', null));
    assert.ok(wants({ events: ['signer.added'], collections: ['reg/team/*'] }, 'signer.added', 'reg/team/app'));
    assert.ok(!wants({ events: ['signer.added'], collections: ['reg/team/*'] }, 'signer.removed', 'reg/team/app'));
    assert.ok(!wants({ events: ['*'], collections: ['reg/team/*'] }, 'signer.added', 'reg/other/app'));
  });
});

describe('backoff and bodies', () => {
  it('grows exponentially with jitter and stays under the cap', () => {
    for (let a = 1; a <= 40; a++) {
      const d = backoffDelay(a, 1000, 60_000);
      const raw = Math.min(60_000, 1000 * 2 ** (a - 1));
      assert.ok(d >= raw * 0.75 - 1 && d <= raw * 1.25 + 1, `attempt ${a}: ${d}`);
    }
  });

  it('renders CloudEvents, Slack and chat bodies', () => {
    const e = cloudEvent({ name: 'signer.added', collection: 'reg/team/app', data: { signer: 'alice', publishedBy: 'ops' }, auditId: 12 }, 'evt_1', new Date('2026-01-01T00:00:00Z'));
    assert.equal(e.type, 'dev.ocitrust.signer.added');
    assert.equal(e.subject, 'reg/team/app');
    assert.deepEqual((e.data as { audit: { id: number } }).audit.id, 12);
    assert.equal(render(e, 'cloudevents').contentType, 'application/cloudevents+json');
    const slack = JSON.parse(render(e, 'slack').body);
    assert.equal(slack.text, 'Signer alice added to reg/team/app by ops');
    const chat = JSON.parse(render(e, 'chat').body);
    assert.equal(chat.content, chat.text);
    assert.equal(chat.event.id, 'evt_1');
  });
});

describe('repeated denials', () => {
  it('reports the first of each denial per window', async () => {
    const { RepeatFilter } = await import('../../../server/webhooks/denials.js');
    const f = new RepeatFilter(1000);
    assert.equal(f.fresh('a', 0), true);
    assert.equal(f.fresh('a', 999), false);
    assert.equal(f.fresh('b', 999), true);
    assert.equal(f.fresh('a', 1000), true);
  });
});
