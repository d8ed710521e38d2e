import { loadConfig } from '@edgetune/config';
import { findBaseModel, type DatasetReport } from '@edgetune/contracts';

/** Rates measured elsewhere (e.g. trained tokens per second of this model's finished jobs, a price list). */
export interface MeasuredRates {
  /** Training throughput measured for this base model, tokens per second. */
  tokensPerSecond?: number | null;
  /** Where the throughput figure comes from, e.g. "the median of 3 finished jobs of this organization". */
  throughputBasis?: string;
  /** Price of one million training tokens, in minor units (cents). */
  pricePerMillionTokensMinor?: number | null;
}

export interface TrainingEstimate {
  tokens: number;
  seconds: number | null;
  costMinor: number | null;
  currency: 'usd';
  basis: string;
}

/**
 * Training tokens, time and cost of `epochs` passes over a dataset. Tokens come from the
 * report's real-tokenizer count; time and cost only from measured rates, never invented: without
 * them they are null and `basis` says what is missing.
 */
export function estimateTraining(report: DatasetReport, baseModel: string, epochs: number, rates: MeasuredRates = {}): TrainingEstimate {
  const model = findBaseModel(baseModel);
  const e = Math.max(1, Math.floor(epochs));
  const per = report.stats.tokens?.total ?? null;
  if (!model) return { tokens: 0, seconds: null, costMinor: null, currency: 'usd', basis: `Unknown base model '${baseModel}'.` };
  if (per === null) {
    const why = report.stats.tokenizer.reason ?? 'the tokenizer was not available when the file was validated';
    return { tokens: 0, seconds: null, costMinor: null, currency: 'usd', basis: `No token count for ${model.id}: ${why}` };
  }
  if (report.stats.tokenizer.baseModel !== model.id) {
    return {
      tokens: 0,
      seconds: null,
      costMinor: null,
      currency: 'usd',
      basis: `Tokens were counted with ${report.stats.tokenizer.baseModel}'s tokenizer, not ${model.id}'s; validate the file for ${model.id} to estimate.`,
    };
  }
  const tokens = per * e;
  const parts = [`${per} tokens per epoch (${model.id} tokenizer and chat template) × ${e} epoch${e === 1 ? '' : 's'}`];
  const tps = rates.tokensPerSecond && rates.tokensPerSecond > 0 ? rates.tokensPerSecond : null;
  const seconds = tps ? Math.ceil(tokens / tps) : null;
  parts.push(tps ? `at the measured ${Math.round(tps)} tokens/s${rates.throughputBasis ? ` (${rates.throughputBasis})` : ''}` : `no measured training throughput for ${model.id} yet, so no time estimate`);
  const price = rates.pricePerMillionTokensMinor ?? null;
  const costMinor = price !== null && price >= 0 ? Math.ceil((tokens / 1e6) * price) : null;
  parts.push(price !== null ? `priced at ${price} cents per million tokens` : 'no price configured, so no cost estimate');
  return { tokens, seconds, costMinor, currency: 'usd', basis: parts.join('; ') + '.' };
}

/** The list price of a base model's training (cents per million tokens): config override, else the catalog's. */
export function trainingPrice(baseModel: string): number | null {
  const overrides = loadConfig().TRAINING_PRICES;
  for (const pair of overrides ? overrides.split(',') : []) {
    const [id, cents] = pair.split('=');
    if (id === baseModel) return Number(cents);
  }
  return findBaseModel(baseModel)?.trainingPricePerMillionTokens ?? null;
}
