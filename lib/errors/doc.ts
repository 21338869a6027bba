import { AREAS } from './catalog.js';

const esc = (s: string): string => s.replace(/\|/g, '\\|');

/** Renders docs/errors.md from the catalogue (the file is generated; a test keeps it current). */
export function renderErrorsDoc(): string {
  const out: string[] = [
    '# Error catalogue',
    '',
    'Every failure ocitrust reports carries one of these stable codes. Generated from',
    '`lib/errors/codes/*.ts` by `npm run docs:errors`; a test fails when this file and the code differ.',
    '',
    'Exit codes (every CLI command): **0** success / verified, **1** verification failed (the policy says no),',
    '**2** usage or input error, **3** environment error (could not decide: registry or server unreachable,',
    'timeout, local I/O). HTTP is the status the server answers with when the error reaches a client.',
    '',
  ];
  for (const [area, table] of Object.entries(AREAS)) {
    const entries = Object.entries(table);
    if (entries.length === 0) continue;
    out.push(`## ${area}`, '', '| code | meaning | what to do | exit | HTTP |', '|---|---|---|---|---|');
    for (const [code, s] of entries.sort(([a], [b]) => a.localeCompare(b))) {
      out.push(`| \`${code}\` | ${esc(s.meaning)} | ${esc(s.action)} | ${s.exit} | ${s.http} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
