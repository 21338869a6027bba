import { assertArg } from '../errors/index.js';

/**
 * The passphrase for a key from the environment (DESIGN §2): `OCITRUST_<ROLE>_PASSPHRASE` when a
 * role is given and that variable is set, else `OCITRUST_PASSPHRASE`, else undefined. The role is
 * upper-cased and every character outside [A-Z0-9] becomes `_` (`targets/team-a` →
 * `OCITRUST_TARGETS_TEAM_A_PASSPHRASE`). Empty variables count as unset. The value is never
 * logged or echoed by this function; callers must not log it either.
 *
 * @throws OcitrustError INVALID_ARGUMENT when role is not a short non-empty string
 */
export function passphraseFromEnv(role?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (role !== undefined) {
    assertArg(typeof role === 'string' && role.length > 0 && role.length <= 128, 'role', 'non-empty string of at most 128 characters', role);
    const specific = env[`OCITRUST_${role.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PASSPHRASE`];
    if (specific) return specific;
  }
  const general = env.OCITRUST_PASSPHRASE;
  return general ? general : undefined;
}
