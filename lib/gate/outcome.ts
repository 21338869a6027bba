/**
 * The gate's one classification of failure codes, taken from the error catalogue only: a code
 * whose exit is 1 is a verdict (the image does not verify: deny, exit 1); every other code
 * (usage or input, exit 2; environment, exit 3) means the gate could not decide. Every face
 * (CLI, webhooks, proxy) counts and reports outcomes through this, so they cannot drift apart.
 */
import { CATALOGUE, type ErrorCode } from '../errors/index.js';

/** What a check came to: verified, a verdict against the image, or no decision possible. */
export type GateOutcome = 'verified' | 'failed' | 'inconclusive';

/** Whether a failure code is a verdict (`failed`) or "could not decide" (`inconclusive`). Unknown codes are inconclusive (fail closed as an error, never a silent verdict). */
export function outcomeOfCode(code: string): Exclude<GateOutcome, 'verified'> {
  if (!Object.prototype.hasOwnProperty.call(CATALOGUE, code)) return 'inconclusive';
  return CATALOGUE[code as ErrorCode].exit === 1 ? 'failed' : 'inconclusive';
}

/** The CLI exit code of an outcome's failure code: 1 verdict, 2 input, 3 environment (unknown: 3). */
export function exitOfCode(code: string): 1 | 2 | 3 {
  if (!Object.prototype.hasOwnProperty.call(CATALOGUE, code)) return 3;
  return CATALOGUE[code as ErrorCode].exit;
}
