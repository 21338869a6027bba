import { EventEmitter } from 'node:events';
import { assertArg } from '../../lib/errors/index.js';

// One emitter per database location, so two Db objects on one SQLite file in one process hear
// each other (SQLite has no cross-process notifications; such deployments must poll).
const emitters = new Map<string, EventEmitter>();

/** The in-process bus for `location`. */
export function localBus(location: string): EventEmitter {
  let e = emitters.get(location);
  if (!e) {
    e = new EventEmitter();
    e.setMaxListeners(0);
    emitters.set(location, e);
  }
  return e;
}

/**
 * Checks a notification channel name: a lowercase SQL identifier, so it can be quoted safely
 * in PostgreSQL `LISTEN`.
 * @throws OcitrustError INVALID_ARGUMENT
 */
export function checkChannel(channel: string): void {
  assertArg(typeof channel === 'string' && /^[a-z_][a-z0-9_]{0,62}$/.test(channel), 'channel', 'a lowercase identifier', channel);
}
