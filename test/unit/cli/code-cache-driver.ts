// Run by code-cache.test.ts in a process of its own: bundle, build id, env (JSON), argv…
import { loadBundledCli } from '../../../cli/code-cache.js';

const [bundle, id, env, ...argv] = process.argv.slice(2);
const loaded = loadBundledCli(bundle!, id!, argv, JSON.parse(env!) as NodeJS.ProcessEnv);
const result = await loaded.cli.run(argv);
loaded.done(result > 100 ? 1 : 0);
process.stdout.write(JSON.stringify({ result, fromCache: loaded.fromCache }));
