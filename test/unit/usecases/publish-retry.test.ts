import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OcitrustError, isOcitrustError } from '../../../lib/errors/index.js';
import { DEFAULT_PUBLISH_ATTEMPTS, changeBase, retryDelayMs, retryOnVersionConflict } from '../../../lib/usecases/publish-retry.js';

const conflict = () => new OcitrustError('PUBLISH_VERSION_CONFLICT', 'targets version 3 is not newer than the current version 3');

describe('retryOnVersionConflict', () => {
  it('re-runs the attempt after a lost race until it lands, pausing with jitter in between', async () => {
    const pauses: number[] = [];
    let n = 0;
    const r = await retryOnVersionConflict(
      async (attempt) => {
        n++;
        assert.equal(attempt, n);
        if (attempt < 4) throw conflict();
        return 'published';
      },
      { sleep: async (ms) => void pauses.push(ms), random: () => 0.5 },
    );
    assert.equal(r, 'published');
    assert.deepEqual(pauses, [25, 50, 100]);
  });

  it(`gives up after ${DEFAULT_PUBLISH_ATTEMPTS} attempts with the last PUBLISH_VERSION_CONFLICT`, async () => {
    let n = 0;
    await assert.rejects(
      retryOnVersionConflict(async () => {
        n++;
        throw conflict();
      }, { sleep: async () => undefined }),
      (e) => isOcitrustError(e, 'PUBLISH_VERSION_CONFLICT'),
    );
    assert.equal(n, DEFAULT_PUBLISH_ATTEMPTS);
  });

  it('stops at once on any other error, a real conflict included', async () => {
    for (const err of [new OcitrustError('PUBLISH_CHANGE_CONFLICT', 'x'), new OcitrustError('AUTH_TOKEN_INVALID', 'x'), new TypeError('bug')]) {
      let n = 0;
      await assert.rejects(
        retryOnVersionConflict(async () => {
          n++;
          throw err;
        }, { sleep: async () => undefined }),
        (e) => e === err,
      );
      assert.equal(n, 1);
    }
  });

  it('pauses stay within [0, min(max, base·2^(n-2))]', () => {
    for (let attempt = 2; attempt < 20; attempt++) {
      const ceiling = Math.min(2000, 50 * 2 ** (attempt - 2));
      assert.equal(retryDelayMs(attempt, { random: () => 0 }), 0);
      assert.ok(retryDelayMs(attempt, { random: () => 0.999999 }) <= ceiling);
    }
  });
});

describe('changeBase', () => {
  it('accepts the same state in another key order, refuses a changed one naming both', () => {
    const b = changeBase('signer alice of x');
    b.check({ keyids: ['a'], paths: ['p'] });
    b.check({ paths: ['p'], keyids: ['a'] });
    assert.throws(() => b.check({ keyids: ['a', 'b'], paths: ['p'] }), (e) => isOcitrustError(e, 'PUBLISH_CHANGE_CONFLICT') && /signer alice of x was changed/.test(e.message) && /"b"/.test(e.message));
    const gone = changeBase('signer bob of x');
    gone.check(null);
    assert.throws(() => gone.check({ keyids: ['z'] }), (e) => isOcitrustError(e, 'PUBLISH_CHANGE_CONFLICT'));
  });

  it('finding the state already as the change leaves it (same change elsewhere, or our own landed attempt) is not a conflict', () => {
    const b = changeBase('signer carol of x');
    b.check(null);
    b.intend({ keyids: ['c'] });
    b.intend({ keyids: ['ignored: the first result counts'] });
    b.check({ keyids: ['c'] });
    assert.throws(() => b.check({ keyids: ['d'] }), (e) => isOcitrustError(e, 'PUBLISH_CHANGE_CONFLICT'));
  });
});
