/**
 * The trust server's settings tables of docs/cli.md, generated from the settings table
 * (`npm run docs:server`); test/unit/server-config.test.ts fails when the committed text differs.
 */
import { OcitrustError } from '../../lib/errors/index.js';
import { CLIENT_VARIABLES, SETTINGS, type SettingSpec } from './settings.js';

/** Markers around the generated block in docs/cli.md. */
export const DOC_BEGIN = '<!-- BEGIN server settings: generated from server/config/settings.ts by `npm run docs:server`; do not edit -->';
export const DOC_END = '<!-- END server settings -->';

function typeText(s: SettingSpec): string {
  switch (s.type) {
    case 'port':
      return 'port 0-65535';
    case 'int':
      return s.max !== undefined ? `integer ${s.min ?? 0}-${s.max}` : `integer ≥ ${s.min ?? 0}`;
    case 'bool':
      return 'true/false';
    case 'ips':
      return 'addresses/CIDRs, comma-separated';
    case 'enum':
      return s.choices!.join(' \\| ');
    case 'url':
      return 'URL';
    case 'database':
      return 'URL or path';
    case 'path':
      return 'path';
    case 'secret':
      return 'secret (the flag: a file holding it)';
    case 'string':
      return 'text';
  }
}

/** A table cell: pipes escaped, `<placeholders>` in code spans (else Markdown reads them as HTML). */
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/(?<!`)(<[a-z]+>[^\s),;`]*)/g, '`$1`');

/** The generated Markdown block, markers included. */
export function renderServerSettingsDoc(): string {
  const lines = [DOC_BEGIN, '', '| Flag | Environment | Type | Default | What it does |', '|---|---|---|---|---|'];
  for (const s of SETTINGS) {
    const flag = s.type === 'bool' ? `\`${s.flag}\` / \`--no-${s.flag.slice(2)}\`` : `\`${s.flag} ${s.arg ?? ''}\``.replace(' `', '`');
    const dflt = s.defaultText ?? (s.default === undefined ? '' : String(s.default));
    lines.push(`| ${flag} | \`${s.env}\` | ${typeText(s)} | ${cell(dflt)} | ${cell(s.description)} |`);
  }
  lines.push(
    '',
    'Precedence: flag, then environment, then default; an empty variable counts as unset. A value',
    'that does not parse stops the start with exit 2 and `SERVER_CONFIG_INVALID` naming the flag or',
    'variable (`OCITRUST_PORT: expected an integer 0-65535, got \'abc\'`); a boolean is `true`/`false`',
    '(or `1`/`0`, `yes`/`no`, `on`/`off`), anything else is an error, never "on". An `OCITRUST_*`',
    'variable that no ocitrust program reads is reported on stderr (`warning: unknown environment',
    'variable OCITRUST_ALLOW_IP is ignored (did you mean OCITRUST_ALLOW_IPS?)`). The variables the',
    `\`trust\` client reads are not warned about: ${CLIENT_VARIABLES.filter((v) => !/TEST|BENCH/.test(v)).map((v) => `\`${v}\``).join(', ')}, \`OCITRUST_<ROLE>_PASSPHRASE\`.`,
    '',
    DOC_END,
  );
  return lines.join('\n');
}

/** `text` with its generated block replaced by the current one. @throws OcitrustError INVALID_ARGUMENT when the markers are missing */
export function replaceServerSettingsDoc(text: string): string {
  const a = text.indexOf(DOC_BEGIN);
  const b = text.indexOf(DOC_END);
  if (a < 0 || b < a) throw new OcitrustError('INVALID_ARGUMENT', 'docs/cli.md: expected the server settings markers, got none');
  return text.slice(0, a) + renderServerSettingsDoc() + text.slice(b + DOC_END.length);
}
