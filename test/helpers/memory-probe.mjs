// Memory probe for tests that measure a child process (loaded with
// NODE_OPTIONS="--expose-gc --import <this file>" and PROBE_FILE=<path>): every 20 ms it runs a
// full garbage collection and appends `<epoch ms> <rss> <heapUsed> <external>` (bytes) to
// PROBE_FILE. Collecting first means the figures are what the process holds, not garbage that
// V8 has not got round to freeing yet (streamed chunks otherwise pile up as external memory
// until V8's external-memory trigger, tens of MiB, whatever the size of the transfer).
import { openSync, writeSync } from 'node:fs';

const fd = openSync(process.env.PROBE_FILE, 'a');
const gc = globalThis.gc;
if (typeof gc !== 'function') throw new Error('memory-probe needs --expose-gc');
setInterval(() => {
  gc();
  const m = process.memoryUsage();
  writeSync(fd, `${Date.now()} ${m.rss} ${m.heapUsed} ${m.external}\n`);
}, 20).unref();
