import { createInterface } from 'node:readline';
import { Context } from '@temporalio/activity';
import * as pipeline from '@edgetune/api/pipeline';
import { storage } from '@edgetune/storage';
import type { JobEventFact } from '@edgetune/contracts';
import { temporalClient, trainerActivityNames, type TrainProgress } from '@edgetune/temporal';

type Ref = { jobId: string; orgId: string };

export function progressEvent(p: TrainProgress): pipeline.EventInput & { fact: Extract<JobEventFact, { kind: 'training_step' }> } {
  // DPO steps also carry their reward accuracy and margin (absent from supervised steps).
  const dpo = typeof p.rewardAccuracy === 'number';
  return {
    fact: {
      kind: 'training_step',
      step: p.step,
      total_steps: p.totalSteps,
      epoch: p.epoch,
      train_loss: p.loss,
      learning_rate: p.learningRate,
      tokens_per_second: p.tokensPerSecond,
      checkpoint: p.checkpointKey,
      ...(dpo ? { reward_accuracy: p.rewardAccuracy, reward_margin: p.rewardMargin ?? null } : {}),
    },
    dedupeKey: `train-step-${p.step}`,
  };
}

function decodePayload(p: { data?: Uint8Array | null } | undefined): unknown {
  if (!p?.data) return null;
  try {
    return JSON.parse(Buffer.from(p.data).toString('utf8'));
  } catch {
    return null;
  }
}

/** Why the tracker asks the workflow to stop training (absent: it was cancelled as usual). */
export interface TrackOutcome {
  spendingCapReached?: string;
}

/**
 * Runs beside the trainer's activity for as long as it trains: reads the trainer's heartbeat
 * details through Temporal (the trainer has no database access) and turns them into job events,
 * and marks the job running once the trainer has picked the work up. At each new checkpoint it
 * prices the tokens trained so far against the spending cap, and returns the reason when the cap
 * is reached (the workflow then stops training). Otherwise ends when cancelled.
 */
export async function trackTraining(ref: Ref): Promise<TrackOutcome | void> {
  const ctx = Context.current();
  const client = await temporalClient();
  const workflowId = ctx.info.workflowExecution?.workflowId ?? '';
  let lastStep = -1;
  let lastCheckpoint: string | null = null;
  let running = false;
  for (;;) {
    if (ctx.cancellationSignal.aborted) return;
    ctx.heartbeat({ lastStep });
    try {
      const d = await client.workflowService.describeWorkflowExecution({
        namespace: ctx.info.workflowNamespace,
        execution: { workflowId },
      });
      const act = d.pendingActivities?.find((a) => a.activityType?.name === trainerActivityNames.train);
      // PENDING_ACTIVITY_STATE_STARTED = 2
      if (act && act.state === 2 && !running) {
        running = true;
        await pipeline.setJobStatus({ ...ref, status: 'running', at: Date.now() });
        await pipeline.recordEvents(ref, [{ fact: { kind: 'training_started', worker: act.lastWorkerIdentity ?? null }, dedupeKey: 'train-started' }]);
      }
      const details = act?.heartbeatDetails?.payloads?.[0];
      const p = decodePayload(details ?? undefined) as TrainProgress | null;
      if (p && typeof p.step === 'number' && p.step > lastStep) {
        lastStep = p.step;
        await pipeline.recordEvents(ref, [progressEvent(p)]);
        if (p.checkpointKey && p.checkpointKey !== lastCheckpoint && typeof p.tokensSeen === 'number') {
          lastCheckpoint = p.checkpointKey;
          // The trainer names checkpoints by their step; polls may see a later step than the save's.
          const saved = Number(/step-(\d+)$/.exec(p.checkpointKey)?.[1] ?? p.step);
          const reason = await pipeline.capReachedWhileTraining(ref, p.tokensSeen, saved);
          if (reason) return { spendingCapReached: reason };
        }
      }
    } catch (e) {
      ctx.log.warn('training tracker poll failed', { error: (e as Error).message });
    }
    try {
      await ctx.sleep(1000);
    } catch {
      return; // cancelled while sleeping
    }
  }
}

/** After training: every step's record from the trainer's metrics log, so no step is missing. */
export async function ingestTrainingMetrics(ref: Ref & { metricsKey: string }): Promise<number> {
  const rl = createInterface({ input: await storage().get(ref.metricsKey), crlfDelay: Infinity });
  const events: pipeline.EventInput[] = [];
  for await (const line of rl) {
    if (!line.trim()) continue;
    const p = JSON.parse(line) as TrainProgress;
    events.push(progressEvent(p));
  }
  for (let i = 0; i < events.length; i += 500) await pipeline.recordEvents(ref, events.slice(i, i + 500));
  return events.length;
}
