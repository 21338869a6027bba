/**
 * A gate answer (lib/gate) as a pull decision of the proxy and the embedded registry's pull
 * gate: the translation, nothing decided here.
 */
import type { GateAnswer } from '../../lib/gate/index.js';
import type { VerifyFailure } from '../../lib/verify/result.js';
import type { Decision } from './options.js';

const MAX_REASON = 900;

/** The failures as one line naming each failed check (code first), bounded for an HTTP error body. */
export function summarizeFailures(failures: readonly VerifyFailure[]): string {
  if (failures.length === 0) return 'not verified';
  const shown = failures.slice(0, 3).map((f) => `${f.code}: ${f.message}`);
  const more = failures.length > 3 ? ` (and ${failures.length - 3} more)` : '';
  const s = shown.join('; ') + more;
  return s.length > MAX_REASON ? `${s.slice(0, MAX_REASON)}…` : s;
}

/**
 * A gate answer as a pull decision. A verdict names its failed checks; "could not decide" is
 * PROXY_VERIFY_UNAVAILABLE with the code of what failed; a `warn` answer is served and logged.
 */
export function decisionOf(a: GateAnswer, withPolicy: boolean): Decision {
  switch (a.decision) {
    case 'skip':
      return { allow: true, reason: `rule ${a.rule ?? ''} skips verification` };
    case 'allow':
      if (a.outcome === 'unchecked') return { allow: true, reason: withPolicy ? 'no policy rule matches (unmatched: allow)' : 'no trust collection covers the repository' };
      return { allow: true, reason: a.vouchedBy ? `listed by a verified index (${a.vouchedBy})` : `verified against ${a.collection ?? ''}` };
    case 'warn':
    case 'deny': {
      const d: Decision =
        a.outcome === 'inconclusive'
          ? { allow: false, code: 'PROXY_VERIFY_UNAVAILABLE', reason: `could not verify (${a.code}: ${a.error?.message ?? ''}); refusing` }
          : { allow: false, code: a.code ?? 'PROXY_PULL_DENIED', reason: summarizeFailures(a.result.failures) };
      return a.decision === 'warn' ? { ...d, allow: true, warning: true } : d;
    }
  }
}
