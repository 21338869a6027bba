// Preloaded into a `trust` process for the untimed counting passes
// (`node --import tsx --import bench/helpers/count-fetch-preload.ts dist/cli/bundle/trust.js …`): replaces
// ocitrust's default fetch with a recording one (through the `Symbol.for('ocitrust.fetch')` override
// that lib/http/fetch.ts reads on every call) and writes the record as JSON to $OCITRUST_BENCH_FETCH_LOG
// when the process exits.
import { writeFileSync } from 'node:fs';
import { recordingFetch } from './recording-fetch.js';

const out = process.env.OCITRUST_BENCH_FETCH_LOG;
if (out) {
  const rec = recordingFetch();
  (globalThis as Record<symbol, unknown>)[Symbol.for('ocitrust.fetch')] = rec.fetch;
  process.on('exit', () => writeFileSync(out, JSON.stringify(rec.log)));
}
