/**
 * A job's cost before it starts, and the gate that refuses a launch its organization's quotas or
 * spending cap do not allow. The estimate prices the tokens the validation report counted with
 * the model's tokenizer; time comes only from measured throughput, never invented.
 */
import { and, eq } from 'drizzle-orm';
import { DomainError, type DatasetReport, type StoredMemoryPlan } from '@edgetune/contracts';
import { db, schema, type Db } from '@edgetune/db';
import { estimateTraining } from '@edgetune/datasets';
import { orgScope } from '../tenant';
import { medianTrainingThroughput } from '../jobs/throughput';
import { assertQuota, billingAccount, planOf } from './account';
import { spentThisMonth, trainingUnitPrice, usageCharge } from './costs';

export interface JobCostEstimate {
  model: string;
  epochs: number;
  trainingTokens: number;
  estimatedSeconds: number | null;
  /** US cents; null when no price or no token count is known (basis says which). */
  estimatedCostMinor: number | null;
  currency: 'usd';
  price: { perMillionTokensMinor: number; plan: string };
  basis: string;
  spendingCap: { monthlyCapMinor: number; spentThisMonthMinor: number; remainingMinor: number } | null;
  /** Whether the estimate would take the month's spend past the cap. */
  exceedsCap: boolean;
  /** The peak memory planned on the training pool; null for a model of unknown architecture. */
  memory: StoredMemoryPlan | null;
}

interface PlannedJob {
  base: { id: string };
  training: { id: string; report: DatasetReport | null };
  hyperparameters: { n_epochs: number };
  memory: StoredMemoryPlan | null;
}

export async function estimatePlan(orgId: string, job: PlannedJob, tx: Db = db()): Promise<JobCostEstimate> {
  const plan = await planOf(orgId, tx);
  const price = trainingUnitPrice(plan, job.base.id);
  const throughput =
    (await medianTrainingThroughput(job.base.id, orgScope({ orgId }, schema.jobs, eq(schema.jobs.baseModel, job.base.id)), 'this organization')) ??
    (await medianTrainingThroughput(job.base.id));
  const epochs = job.hyperparameters.n_epochs;
  const est = job.training.report
    ? estimateTraining(job.training.report, job.base.id, epochs, {
        tokensPerSecond: throughput?.tokensPerSecond ?? null,
        throughputBasis: throughput?.basis,
        pricePerMillionTokensMinor: price,
      })
    : { tokens: 0, seconds: null, costMinor: null, basis: `File '${job.training.id}' was uploaded before validation reports existed; upload it again to get an estimate.` };
  const account = await billingAccount(orgId, tx);
  const cap = account?.monthlyCapMinor ?? null;
  const spent = cap === null ? 0 : await spentThisMonth(orgId, tx, plan);
  const costKnown = est.costMinor !== null && est.tokens > 0;
  return {
    model: job.base.id,
    epochs,
    trainingTokens: est.tokens,
    estimatedSeconds: est.seconds,
    estimatedCostMinor: costKnown ? est.costMinor : null,
    currency: 'usd',
    price: { perMillionTokensMinor: price, plan: plan.name },
    basis: est.basis,
    spendingCap: cap === null ? null : { monthlyCapMinor: cap, spentThisMonthMinor: spent, remainingMinor: Math.max(0, cap - spent) },
    exceedsCap: cap !== null && costKnown && spent + (est.costMinor ?? 0) > cap,
    memory: job.memory,
  };
}

const usd = (minor: number) => `$${(minor / 100).toFixed(2)}`;

/** Refuses a launch that passes a quota or the spending cap, with the numbers. */
export async function assertJobFits(orgId: string, est: JobCostEstimate, tx: Db = db()): Promise<void> {
  await assertQuota(orgId, 'concurrent_jobs', 1, tx);
  await assertQuota(orgId, 'training_tokens_per_month', est.trainingTokens, tx);
  if (est.exceedsCap && est.spendingCap) {
    const { monthlyCapMinor, spentThisMonthMinor } = est.spendingCap;
    throw new DomainError(
      'quota_exceeded',
      `This job is estimated at ${usd(est.estimatedCostMinor ?? 0)} (${est.trainingTokens.toLocaleString('en-US')} training tokens at ${est.price.perMillionTokensMinor} cents per million); with ${usd(spentThisMonthMinor)} spent this month it would pass the monthly spending cap of ${usd(monthlyCapMinor)}. Raise the cap on the Billing page or train on less data.`,
      { param: 'spending_cap', details: [{ field: 'spending_cap', message: `Cap ${usd(monthlyCapMinor)}, spent ${usd(spentThisMonthMinor)}, estimate ${usd(est.estimatedCostMinor ?? 0)}.` }] },
    );
  }
}

/**
 * Whether a running job, `tokens` into its training, has taken the month's spend past the cap.
 * Asked at each checkpoint the trainer saves, so a job stopped for it loses no finished work:
 * it returns the reason, and records the tokens trained so far (they are metered when it ends).
 */
export async function capReachedWhileTraining(ref: { orgId: string; jobId: string }, tokens: number, checkpointStep: number): Promise<string | null> {
  const account = await billingAccount(ref.orgId);
  const cap = account?.monthlyCapMinor ?? null;
  if (cap === null) return null;
  const [job] = await db()
    .select({ baseModel: schema.jobs.baseModel })
    .from(schema.jobs)
    .where(and(eq(schema.jobs.id, ref.jobId), eq(schema.jobs.orgId, ref.orgId)));
  if (!job) return null;
  const plan = await planOf(ref.orgId);
  const soFar = usageCharge(plan, 'training_tokens', tokens, job.baseModel);
  const spent = await spentThisMonth(ref.orgId, db(), plan);
  if (spent + soFar <= cap) return null;
  await db().update(schema.jobs).set({ trainedTokens: Math.round(tokens) }).where(and(eq(schema.jobs.id, ref.jobId), eq(schema.jobs.orgId, ref.orgId)));
  return `Stopped at the checkpoint of step ${checkpointStep} (its progress is saved): the ${Math.round(tokens).toLocaleString('en-US')} tokens trained so far cost ${usd(soFar)}, which with ${usd(spent)} spent this month reaches the monthly spending cap of ${usd(cap)}. Raise the cap on the Billing page and start the job again.`;
}
