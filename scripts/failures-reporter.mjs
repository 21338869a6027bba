// A node:test reporter that prints nothing while tests run and, at the end, every failed test
// with its file and error. run-tests.mjs adds it beside the TAP reporter so a CI log whose head
// was cut still ends with what failed.
export default async function* failuresReporter(source) {
  const failures = [];
  for await (const event of source) {
    if (event.type !== 'test:fail') continue;
    const { name, file, line, details, nesting } = event.data;
    const err = details?.error;
    // A suite fails when a test in it fails; keep the innermost failure, not its parents.
    if (err?.failureType === 'subtestsFailed') continue;
    const cause = err?.cause ?? err;
    const message = String(cause?.stack ?? cause?.message ?? cause ?? 'unknown error')
      .split('\n').slice(0, 12).join('\n');
    failures.push(`✖ ${name}\n  at ${file ?? '?'}${line ? ':' + line : ''} (nesting ${nesting})\n  ${message.replace(/\n/g, '\n  ')}`);
  }
  if (failures.length === 0) return;
  yield `\n# ${failures.length} failing test(s):\n`;
  for (const f of failures) yield f + '\n\n';
}
