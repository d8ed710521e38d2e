/**
 * A job's memory plan against the training pool it would run on: the pool's memory is what its
 * trainers say in their worker identity (`memory=<bytes>`: RAM, or the GPU's memory on a GPU
 * trainer), the smallest of those polling now, since any of them may take the job.
 */
import { DomainError, planTrainingMemory, trainingMaxSeqLen, type BaseModel, type JobSettings, type StoredMemoryPlan } from '@edgetune/contracts';
import { taskQueues } from '@edgetune/temporal';
import { describePollers, freshPollers, type PollerInfo } from '../devices/devices';

const MEMORY_IN_IDENTITY = /(?:^|\s)memory=(\d{1,16})(?:\s|$)/;
const BF16_IN_IDENTITY = /(?:^|\s)bf16=1(?:\s|$)/;

/**
 * The memory of a training pool's smallest trainer online now (null when none says it), and
 * whether every one of them computes in bf16 (any that does not, or says nothing, may take the
 * job, and float32 needs more).
 */
export async function trainingPoolMemory(pool: string): Promise<{ capacity: number | null; bf16: boolean }> {
  const pollers = freshPollers(await describePollers(taskQueues.train(pool), 'activity').catch((): PollerInfo[] => []));
  const sizes = pollers.map((p) => MEMORY_IN_IDENTITY.exec(p.identity)?.[1]).filter((m): m is string => !!m).map(Number);
  return { capacity: sizes.length ? Math.min(...sizes) : null, bf16: pollers.length > 0 && pollers.every((p) => BF16_IN_IDENTITY.test(p.identity)) };
}

const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;

/**
 * The plan of a job with these settings on `pool`, or a refusal naming the estimate and the pool's
 * memory when it cannot fit even with gradient checkpointing. Null for a model of unknown architecture.
 */
export async function planJobMemory(base: BaseModel, settings: JobSettings, pool: string): Promise<StoredMemoryPlan | null> {
  const { capacity, bf16 } = await trainingPoolMemory(pool);
  const seqLen = trainingMaxSeqLen(base);
  const plan = planTrainingMemory(
    { modelId: base.id, method: settings.method, objective: settings.objective, batchSize: settings.batch_size, loraRank: settings.lora_rank, seqLen, bf16 },
    capacity,
  );
  if (!plan) return null;
  const e = plan.estimate;
  if (!plan.fits) {
    const what = `${base.id} ${settings.method === 'lora' ? `LoRA rank ${settings.lora_rank}` : 'full fine-tuning'}${settings.objective === 'dpo' ? ' (DPO)' : ''}, batch size ${settings.batch_size}, sequence length ${seqLen}`;
    throw new DomainError(
      'invalid_request',
      `This job needs about ${gib(e.peakBytes)} of memory at its peak (${what}), even with gradient checkpointing; the trainers of training pool '${pool}' have ${gib(capacity!)}. Lower batch_size${settings.method === 'full' ? ", train with method 'lora'" : ''}, or choose a training_pool with more memory.`,
      {
        param: 'hyperparameters.batch_size',
        details: [
          { field: 'memory', message: `Estimated peak ${gib(e.peakBytes)}: weights ${gib(e.weightsBytes)}, gradients and optimizer ${gib(e.optimizerBytes)}, activations ${gib(e.activationsBytes)}, runtime ${gib(e.runtimeBytes)}.` },
          { field: 'training_pool', message: `Pool '${pool}': ${gib(capacity!)} on its smallest trainer.` },
        ],
      },
    );
  }
  return { peakBytes: e.peakBytes, gradientCheckpointing: e.gradientCheckpointing, capacityBytes: plan.capacityBytes, pool };
}
