// Preload (`node --import tsx --import ./test/helpers/load-recorder.mjs …`): appends the URL of
// every module the process loads to the file named by TEST_LOAD_RECORD_FILE, one a line.
// Registered after tsx, so it sees the final URL of each module tsx resolved.
import { register } from 'node:module';

const out = process.env.TEST_LOAD_RECORD_FILE;
if (out) register(new URL('./load-recorder-hooks.mjs', import.meta.url), { data: { out } });
