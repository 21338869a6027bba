#!/usr/bin/env node
// The `trust` command (package.json "bin"). Everything lives in run.ts so tests can call it.
import { run } from './run.js';

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`trust: internal error: ${e instanceof Error ? e.message : String(e)} [INTERNAL]\n`);
    process.exitCode = 3;
  },
);
