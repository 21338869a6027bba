import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from '../../../lib/clock.js';
import { IDLE_MS, TrustFreshness } from '../../../server/trust-freshness.js';

/** A clock the test moves. */
function movable(iso: string): Clock & { advance(ms: number): void } {
  let t = Date.parse(iso);
  return { now: () => new Date(t), advance: (ms) => void (t += ms) };
}

describe('TrustFreshness', () => {
  const T0 = '2026-01-15T12:00:00Z';

  it('ready → degraded while refreshes fail → 503-worthy "expired" once the kept data expires → ready after a success', () => {
    const clock = movable(T0);
    const f = new TrustFreshness(clock);
    assert.deepEqual(f.readiness(), { status: 'ready', problems: [] });
    f.succeeded('hook', 'https://trust.example', 'reg/app', clock.now(), new Date(Date.parse(T0) + 3_600_000));
    assert.equal(f.readiness().status, 'ready');
    clock.advance(60_000);
    f.failed('hook', 'https://trust.example', 'reg/app', 'TUF_SOURCE_UNREACHABLE');
    const d = f.readiness();
    assert.equal(d.status, 'degraded');
    assert.match(d.problems[0]!, /reg\/app .*60 s old.*TUF_SOURCE_UNREACHABLE/);
    clock.advance(3_600_000);
    f.failed('hook', 'https://trust.example', 'reg/app', 'TUF_SOURCE_UNREACHABLE');
    assert.equal(f.readiness().status, 'expired');
    f.succeeded('hook', 'https://trust.example', 'reg/app', clock.now(), new Date(clock.now().getTime() + 3_600_000));
    assert.equal(f.readiness().status, 'ready');
  });

  it('renders age, expiry, staleness per face/server/collection and failures by code, labels escaped', () => {
    const clock = movable(T0);
    const f = new TrustFreshness(clock);
    f.succeeded('proxy', 'http://t"x', 'reg/a', clock.now(), new Date(Date.parse(T0) + 10_000));
    clock.advance(4_000);
    f.failed('proxy', 'http://t"x', 'reg/a', 'TUF_SOURCE_TIMEOUT');
    const out: string[] = [];
    f.render(out);
    const text = out.join('\n');
    assert.match(text, /ocitrust_trust_data_age_seconds\{face="proxy",server="http:\/\/t\\"x",collection="reg\/a"\} 4/);
    assert.match(text, /ocitrust_trust_data_expires_in_seconds\{face="proxy",[^}]*\} 6/);
    assert.match(text, /ocitrust_trust_data_stale\{face="proxy",[^}]*\} 1/);
    assert.match(text, /ocitrust_trust_refresh_failures_total\{face="proxy",code="TUF_SOURCE_TIMEOUT"\} 1/);
  });

  it('a collection nobody uses any more is forgotten, so its old expiry cannot keep the server unready', () => {
    const clock = movable(T0);
    const f = new TrustFreshness(clock);
    f.succeeded('hook', 'local', 'reg/gone', clock.now(), new Date(Date.parse(T0) + 1000));
    clock.advance(2000);
    assert.equal(f.readiness().status, 'expired');
    clock.advance(IDLE_MS);
    assert.equal(f.readiness().status, 'ready');
    f.failed('hook', 'local', 'reg/gone', 'X');
    assert.equal(f.readiness().status, 'ready', 'a failure for an unknown collection creates no entry');
  });
});
