// cli/server-token-fetch.ts over real HTTP servers on 127.0.0.1: the trust server token goes on
// requests to the trust server's own host (the verifying proxy needs it to let a publisher read
// an unsigned manifest), never to another host, not even through a redirect.
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tokenForOwnHost } from '../../../cli/server-token-fetch.js';

function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; host: string }> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, host: `127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

describe('tokenForOwnHost', () => {
  const seen: { host: string; token: string | undefined; path: string }[] = [];
  let own: { server: Server; host: string };
  let other: { server: Server; host: string };
  before(async () => {
    other = await listen((req, res) => {
      seen.push({ host: 'other', token: req.headers['x-ocitrust-token'] as string | undefined, path: req.url ?? '' });
      res.end('blob');
    });
    own = await listen((req, res) => {
      seen.push({ host: 'own', token: req.headers['x-ocitrust-token'] as string | undefined, path: req.url ?? '' });
      if (req.url === '/v2/team/app/blobs/away') {
        res.writeHead(307, { location: `http://${other.host}/storage/blob` }).end();
      } else if (req.url === '/v2/team/app/blobs/here') {
        res.writeHead(302, { location: '/v2/team/app/blobs/final' }).end();
      } else res.end('ok');
    });
  });
  after(() => {
    own.server.close();
    other.server.close();
  });

  it('sends X-Ocitrust-Token to the trust server host only, and follows a redirect elsewhere without it', async () => {
    const f = tokenForOwnHost(own.host, async () => 'ocit_secret', (u, i) => fetch(u, i));
    seen.length = 0;
    assert.equal(await (await f(`http://${own.host}/v2/team/app/manifests/v1`, { method: 'GET', redirect: 'follow' })).text(), 'ok');
    assert.equal(await (await f(`http://${other.host}/v2/x`, { method: 'GET', redirect: 'follow' })).text(), 'blob');
    assert.equal(await (await f(`http://${own.host}/v2/team/app/blobs/away`, { method: 'GET', redirect: 'follow' })).text(), 'blob');
    assert.equal(await (await f(`http://${own.host}/v2/team/app/blobs/here`, { method: 'GET', redirect: 'follow' })).text(), 'ok');
    assert.deepEqual(seen, [
      { host: 'own', token: 'ocit_secret', path: '/v2/team/app/manifests/v1' },
      { host: 'other', token: undefined, path: '/v2/x' },
      { host: 'own', token: 'ocit_secret', path: '/v2/team/app/blobs/away' },
      { host: 'other', token: undefined, path: '/storage/blob' },
      { host: 'own', token: 'ocit_secret', path: '/v2/team/app/blobs/here' },
      { host: 'own', token: 'ocit_secret', path: '/v2/team/app/blobs/final' },
    ]);
  });

  it('sends nothing when there is no token', async () => {
    const f = tokenForOwnHost(own.host, async () => undefined, (u, i) => fetch(u, i));
    seen.length = 0;
    await (await f(`http://${own.host}/v2/`, { method: 'GET', redirect: 'follow' })).text();
    assert.deepEqual(seen, [{ host: 'own', token: undefined, path: '/v2/' }]);
  });
});
