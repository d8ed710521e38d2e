/** Fleets of edge devices: the request shapes of managing them and of a device enrolling and checking in. */
import { z } from 'zod';
import { fingerprintSchema } from './devices';

export const fleetNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'letters, digits, spaces, dots, dashes and underscores, starting with a letter or digit')
  .meta({ description: 'A name unique in the organization, e.g. "cars-eu"' });

export const channelNameSchema = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes')
  .meta({ description: 'A release channel, e.g. "stable" or "beta"; a device follows the channel it enrolled on' });

/** What a device reports of an update it tried (part of a check-in). */
export const updateReportSchema = z.strictObject({
  release_id: z.string().min(1).max(64).meta({ description: 'The release (rel_…) the device tried to install' }),
  status: z.enum(['installed', 'failed']).meta({ description: 'installed: downloaded, verified, swapped and its smoke test passed; failed: any of those failed (the device kept or rolled back to its previous model)' }),
  error: z.string().max(4000).nullable().optional(),
  smoke_latency_ms: z.number().min(0).max(3_600_000).nullable().optional().meta({ description: 'How long the smoke inference took' }),
});

export const createFleetSchema = z.strictObject({ name: fleetNameSchema });

export const enrollDeviceSchema = z.strictObject({
  name: z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'letters, digits, dots, colons, dashes and underscores').meta({ description: 'Unique in the fleet, e.g. a serial number' }),
  profile: z.string().min(1).max(64).meta({ description: 'The device profile (GET /api/v1/devices) whose variant it installs' }),
  fingerprint: fingerprintSchema.partial().meta({ description: 'What the device knows of itself (CPU, OS, memory, ...)' }),
  channel: channelNameSchema.default('stable'),
});

export const checkInSchema = z.strictObject({
  installed_version: z.string().max(256).nullable().optional().meta({ description: 'The model version installed now, e.g. "ft:lfm2-350m:acme::ab12cd34@3"' }),
  health: z.enum(['ok', 'degraded', 'failed']),
  last_error: z.string().max(4000).nullable().optional(),
  update: updateReportSchema.optional().meta({ description: 'The outcome of the last update the device tried, if any' }),
});

/** The rollout steps every release takes unless it names its own. */
export const DEFAULT_ROLLOUT_STEPS = [1, 10, 50, 100] as const;

const percent = z.number().int().min(1).max(100);

export const createReleaseSchema = z
  .strictObject({
    model: z.string().min(1).max(300).meta({ description: 'A published model version (its fine_tuned_model name or mv_… id)' }),
    channel: channelNameSchema.default('stable'),
    rollout_percent: percent.optional().meta({ description: 'The share of the channel that gets the release at once (the first step); default 1' }),
    steps: z
      .array(percent)
      .min(1)
      .max(10)
      .refine((s) => s.every((v, i) => i === 0 || v > s[i - 1]), 'steps must increase')
      .refine((s) => s[s.length - 1] === 100, 'the last step must be 100')
      .optional()
      .meta({ description: 'Rollout steps in percent, increasing and ending at 100; default [rollout_percent, then 10, 50, 100 above it]' }),
    soak_minutes: z.number().int().min(1).max(10080).nullable().default(null).meta({ description: 'Advance to the next step on its own this long after a step started, when its failure rate is at or below the threshold; null = advance by hand' }),
    failure_threshold: z.number().min(0).max(1).default(0.1).meta({ description: 'A step whose failure rate passes this halts the rollout' }),
    min_reports: z.number().int().min(1).max(100000).default(1).meta({ description: 'Reports from a step needed before its failure rate is judged' }),
  })
  .superRefine((v, ctx) => {
    if (v.steps && v.rollout_percent !== undefined && v.steps[0] !== v.rollout_percent) {
      ctx.addIssue({ code: 'custom', path: ['rollout_percent'], message: 'rollout_percent must equal the first step when both are given' });
    }
  });
export type CreateReleaseInput = z.infer<typeof createReleaseSchema>;

/** The steps of a release: its own, or the first step and the default ones above it. */
export function rolloutSteps(input: Pick<CreateReleaseInput, 'rollout_percent' | 'steps'>): number[] {
  if (input.steps) return input.steps;
  const first = input.rollout_percent ?? DEFAULT_ROLLOUT_STEPS[0];
  return [first, ...DEFAULT_ROLLOUT_STEPS.filter((s) => s > first)];
}
