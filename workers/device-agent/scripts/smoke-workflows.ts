// Workflows for smoke-temporal.ts only: call the device agent's activities through Temporal.
import { ActivityCancellationType, proxyActivities, CancellationScope, isCancellation, sleep } from '@temporalio/workflow';
import type { BenchmarkInput, BenchmarkOutput, Fingerprint, QuantizeInput, QuantizeOutput } from '@edgetune/temporal/activities';

type DeviceActs = {
  fingerprint(): Promise<Fingerprint>;
  quantize(i: QuantizeInput): Promise<QuantizeOutput>;
  benchmark(i: BenchmarkInput): Promise<BenchmarkOutput>;
};

/** The cancelled benchmark runs with many repetitions (BENCH_REPETITIONS is the agent's env), so it would take long. */
export async function smokeDevice(queue: string, q: QuantizeInput, evalKey: string): Promise<{ fp: Fingerprint; qo: QuantizeOutput; bo: BenchmarkOutput; cancelled: boolean; cancelMs: number }> {
  const acts = proxyActivities<DeviceActs>({ taskQueue: queue, startToCloseTimeout: '10 minutes', heartbeatTimeout: '20 seconds', retry: { maximumAttempts: 1 }, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED });
  const fp = await acts.fingerprint();
  const qo = await acts.quantize(q);
  const bo = await acts.benchmark({ jobId: q.jobId, device: q.device, modelKey: qo.key, evalKey, maxNewTokens: 8 });
  let cancelled = false;
  const t0 = Date.now();
  try {
    await CancellationScope.cancellable(async () => {
      const p = acts.benchmark({ jobId: q.jobId, device: q.device, modelKey: qo.key, evalKey, maxNewTokens: 8 });
      await sleep('3000ms');
      CancellationScope.current().cancel();
      await p;
    });
  } catch (e) {
    cancelled = isCancellation(e);
  }
  // WAIT_CANCELLATION_COMPLETED: we get here only once the agent acknowledged the cancellation.
  return { fp, qo, bo, cancelled, cancelMs: Date.now() - t0 };
}
