// Writes docs/errors.md from the catalogue in lib/errors/codes/*.ts (`npm run docs:errors`).
// test/unit/errors-catalog.test.ts fails when the committed file differs from this output.
import { writeFileSync } from 'node:fs';
import { renderErrorsDoc } from '../lib/errors/doc.js';

writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorsDoc());
console.log('wrote docs/errors.md');
