// Preload (`node --import tsx --import ./test/helpers/load-recorder.mjs …`): appends the URL of
// every module the process loads to the file named by TEST_LOAD_RECORD_FILE, one a line, and at
// exit the built-in modules Node loaded (`builtin:<id>`, from process.moduleLoadList: those
// required inside Node or by process.getBuiltinModule never reach the hooks). Registered after
// tsx, so it sees the final URL of each module tsx resolved.
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';

const out = process.env.TEST_LOAD_RECORD_FILE;
if (out) {
  register(new URL('./load-recorder-hooks.mjs', import.meta.url), { data: { out } });
  process.on('exit', () => {
    const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => `builtin:${m.slice('NativeModule '.length)}`);
    appendFileSync(out, builtins.join('\n') + '\n');
  });
}
