import { ApplicationFailure, Context } from '@temporalio/activity';
import type { BenchmarkInput, BenchmarkOutput, Fingerprint, QuantizeInput, QuantizeOutput } from '@edgetune/temporal/activities';
import { activityStorage } from '@edgetune/storage';
import { deviceActivityNames } from '@edgetune/temporal/activities';
import { benchmark as runBenchmark, TemplateParityError } from './benchmark';
import { fingerprint as readFingerprint } from './fingerprint';
import { log } from './log';
import { quantize as runQuantize, type ActivityHooks } from './quantize';

/** Heartbeat + cancellation + logging hooks bound to the current activity. */
function hooks(): ActivityHooks {
  const ctx = Context.current();
  const { workflowExecution, activityType, attempt } = ctx.info;
  const base = { workflowId: workflowExecution?.workflowId, activity: activityType, attempt };
  return {
    signal: ctx.cancellationSignal,
    heartbeat: (detail) => ctx.heartbeat(detail),
    log: (msg, fields) => log.info({ ...base, ...fields }, msg),
  };
}

/** After a cancellation, report it as Temporal's CancelledFailure rather than as a tool failure. */
async function cancellable<T>(run: (h: ActivityHooks) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  try {
    return await run(hooks());
  } catch (e) {
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? e;
    throw e;
  }
}

export async function fingerprint(): Promise<Fingerprint> {
  return readFingerprint();
}

export async function quantize(input: QuantizeInput): Promise<QuantizeOutput> {
  return cancellable((h) => runQuantize(input, h, activityStorage(input.storageGrant)));
}

export async function benchmark(input: BenchmarkInput): Promise<BenchmarkOutput> {
  const d = await cancellable((h) => runBenchmark(input, h, undefined, activityStorage(input.storageGrant))).catch((e: unknown) => {
    // The same files render the same way on every attempt: fail the job now, saying why.
    if (e instanceof TemplateParityError) throw ApplicationFailure.create({ type: 'TemplateParityError', message: e.message, nonRetryable: true });
    throw e;
  });
  const { ttftSamplesMs: _s, baselineRssBytes: _b, renderedPrompt: _p, runtime: _r, ...out } = d;
  return out;
}

/** Registered under the names in `deviceActivityNames`. */
export const activities = {
  [deviceActivityNames.fingerprint]: fingerprint,
  [deviceActivityNames.quantize]: quantize,
  [deviceActivityNames.benchmark]: benchmark,
};
