/**
 * What dist/cli/bundle/trust.cjs exports (scripts/build-cli.mjs): the CLI, and the warm verifier
 * that serves it (cli/verify-daemon.ts). cli/main.ts loads it through cli/code-cache.ts.
 */
export { run } from './run.js';
export { serveVerifyDaemon } from './verify-daemon.js';
