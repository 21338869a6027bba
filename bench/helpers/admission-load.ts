// Admission load for the benchmarks: reviews sent at a fixed rate, open loop.
import { Worker } from 'node:worker_threads';

// The load generator runs on its own thread (as the API server is its own process): its HTTP
// client work neither delays the server's event loop nor is delayed by it.
const LOAD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, bodies, rate } = workerData;
(async () => {
  const latencies = [];
  const failures = [];
  const start = performance.now();
  const pending = [];
  for (let i = 0; i < bodies.length; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t0 = performance.now();
    pending.push(
      fetch(url + '/admission/validate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[i] })
        .then(async (res) => {
          const text = await res.text();
          latencies.push(performance.now() - t0);
          if (res.status !== 200 || !JSON.parse(text).response.allowed) failures.push(text.slice(0, 400));
        })
        .catch((e) => failures.push(String(e))),
    );
  }
  await Promise.all(pending);
  parentPort.postMessage({ latencies, failures });
})();
`;

/**
 * Posts `bodies` (AdmissionReview JSON) to `url`/admission/validate at `rate` per second from a
 * worker thread (open loop: the schedule does not wait for answers); returns each latency (ms).
 * @throws when a review is not allowed
 */
export async function sendReviews(url: string, bodies: readonly string[], rate: number): Promise<number[]> {
  const worker = new Worker(LOAD_WORKER, { eval: true, workerData: { url, bodies, rate } });
  try {
    const out = await new Promise<{ latencies: number[]; failures: string[] }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (out.failures.length > 0) throw new Error(`${out.failures.length} reviews not allowed, e.g. ${out.failures[0]}`);
    return out.latencies;
  } finally {
    await worker.terminate();
  }
}
