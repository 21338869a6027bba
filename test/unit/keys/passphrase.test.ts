import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { passphraseFromEnv } from '../../../lib/keys/passphrase.js';
import { isOcitrustError } from '../../../lib/errors/index.js';

describe('passphraseFromEnv', () => {
  const env = { OCITRUST_PASSPHRASE: 'general', OCITRUST_TARGETS_PASSPHRASE: 'targets', OCITRUST_TEAM_A_PASSPHRASE: 'team', OCITRUST_EMPTY_PASSPHRASE: '' };

  it('prefers OCITRUST_<ROLE>_PASSPHRASE, then OCITRUST_PASSPHRASE', () => {
    assert.equal(passphraseFromEnv('targets', env), 'targets');
    assert.equal(passphraseFromEnv('root', env), 'general');
    assert.equal(passphraseFromEnv(undefined, env), 'general');
  });

  it('maps role names to variable names (upper case, non-alphanumerics to _)', () => {
    assert.equal(passphraseFromEnv('team-a', env), 'team');
    assert.equal(passphraseFromEnv('Team.A', env), 'team');
  });

  it('treats empty variables as unset and returns undefined when nothing is set', () => {
    assert.equal(passphraseFromEnv('empty', env), 'general');
    assert.equal(passphraseFromEnv('root', {}), undefined);
    assert.equal(passphraseFromEnv(undefined, { OCITRUST_PASSPHRASE: '' }), undefined);
  });

  it('reads process.env by default', () => {
    const before = process.env.OCITRUST_H1TEST_PASSPHRASE;
    process.env.OCITRUST_H1TEST_PASSPHRASE = 'from-process';
    try {
      assert.equal(passphraseFromEnv('h1test'), 'from-process');
    } finally {
      if (before === undefined) delete process.env.OCITRUST_H1TEST_PASSPHRASE;
      else process.env.OCITRUST_H1TEST_PASSPHRASE = before;
    }
  });

  it('refuses an empty role with INVALID_ARGUMENT', () => {
    assert.throws(() => passphraseFromEnv('', env), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
  });
});
