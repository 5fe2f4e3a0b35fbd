/** Load generation and statistics shared by the benchmark's modules (autocannon on 127.0.0.1). */
import autocannon, { type Options, type Result } from "autocannon";

/** Runs autocannon; also returns every response's latency (ms, unrounded) and status. */
export function load(
  options: Options,
): Promise<{ result: Result; latencies: number[]; statuses: Map<number, number> }> {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  return new Promise((resolvePromise, reject) => {
    const instance = autocannon({ timeout: 10, excludeErrorStats: false, ...options }, (err, result) =>
      err ? reject(err) : resolvePromise({ result, latencies, statuses }),
    );
    instance.on("response", (_client, status, _bytes, ms) => {
      latencies.push(ms);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    });
  });
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export const median = (values: number[]) => percentile(values, 50);
export const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
