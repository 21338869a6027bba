// Rewrites the generated server settings block of docs/cli.md from server/config/settings.ts
// (`npm run docs:server`). test/unit/server-config.test.ts fails when the committed file differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { replaceServerSettingsDoc } from '../server/config/docs.js';

const file = new URL('../docs/cli.md', import.meta.url);
writeFileSync(file, replaceServerSettingsDoc(readFileSync(file, 'utf8')));
console.log('wrote the server settings of docs/cli.md');
