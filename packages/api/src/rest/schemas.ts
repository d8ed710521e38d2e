/**
 * The objects of the platform REST API (/api/v1) as zod schemas: the REST views are typed by them
 * and the OpenAPI document is generated from them, so neither can drift from the other. A schema
 * with an `id` becomes a named component of the document.
 */
import { z } from 'zod';
import { actions, apiKeyScopes, roles } from '@edgetune/auth';
import { budgetsSchema, datasetFormats, errorCodes, jobStatuses } from '@edgetune/contracts';
import { auditActions } from '../identity/audit';

const int = z.number().int();
const time = z.iso.datetime();
const unixTime = int.meta({ description: 'Unix time in seconds' });
/** Free-form JSON objects the platform records (reports, metrics, fingerprints). */
const record = z.record(z.string(), z.unknown());

export const listOf = <T extends z.ZodType>(item: T) => z.object({ object: z.literal('list'), data: z.array(item), has_more: z.boolean() });

// ---------------------------------------------------------------------------------------------
// Errors

const errorDetail = z.object({
  line: int.optional().meta({ description: '1-based line of the uploaded file' }),
  field: z.string().optional().meta({ description: 'The field (JSON path) at fault' }),
  message: z.string(),
});

const errorFields = {
  code: z.enum(Object.keys(errorCodes) as [keyof typeof errorCodes, ...(keyof typeof errorCodes)[]]),
  message: z.string(),
  param: z.string().nullable(),
  details: z.array(errorDetail),
};

export const errorSchema = z.object({ error: z.object(errorFields) }).meta({ id: 'Error', description: 'Every error of /api/v1' });

export const uploadOffsetErrorSchema = z
  .object({
    error: z.object({ ...errorFields, offset: int.optional() }),
    offset: int.optional().meta({ description: 'where to continue (absent when the upload takes no more bytes)' }),
  })
  .meta({ id: 'UploadOffsetError' });

// ---------------------------------------------------------------------------------------------
// Files and datasets

export const fileSchema = z
  .object({
    id: z.string(),
    object: z.literal('file'),
    bytes: int,
    created_at: unixTime,
    expires_at: z.null(),
    filename: z.string(),
    purpose: z.string(),
    status: z.literal('processed'),
    status_details: z.null(),
    sha256: z.string(),
    examples: int,
    stats: z.record(z.string(), z.number()),
    format: z.enum(datasetFormats),
    dataset_id: z.string().nullable(),
    version: int.nullable(),
  })
  .meta({ id: 'File' });

export const deletedSchema = <T extends string>(object: T) => z.object({ id: z.string(), object: z.literal(object), deleted: z.literal(true) });

const jobUseSchema = z.object({
  id: z.string(),
  status: z.string(),
  fine_tuned_model: z.string().nullable(),
  role: z.enum(['training', 'validation']),
});

export const datasetVersionSchema = fileSchema
  .extend({
    object: z.literal('dataset.version'),
    source: record.nullable().meta({ description: 'filename, container (jsonl/csv/parquet), compression (none/gzip/zstd), columns, uploadedBytes, normalizedBytes' }),
    report: record.nullable().meta({ description: 'Warnings (with lines), statistics and token histogram' }),
    used_by: z.object({ jobs: z.array(jobUseSchema) }).optional(),
  })
  .meta({ id: 'DatasetVersion', description: 'A file that is a dataset version, with its validation report and lineage.' });

const datasetFields = {
  id: z.string(),
  object: z.literal('dataset'),
  name: z.string(),
  description: z.string().nullable(),
  created_at: time,
};

export const datasetSchema = z
  .object({ ...datasetFields, versions: int.optional(), latest_version: fileSchema.nullable().optional() })
  .meta({ id: 'Dataset', description: 'A named series of immutable versions' });

export const datasetDetailSchema = z.object({ ...datasetFields, versions: z.array(datasetVersionSchema) }).meta({ id: 'DatasetDetail' });

export const previewSchema = z.object({
  object: z.literal('list'),
  data: z.array(z.object({ line: int, record: z.unknown(), truncated: z.object({ bytes: int }).optional() })),
  total: int,
  offset: int,
  limit: int,
  format: z.enum(datasetFormats),
});

/** estimateTraining's answer (packages/datasets), passed through. */
export const estimateSchema = z.looseObject({}).meta({ id: 'TrainingEstimate' });

export const uploadSchema = z
  .object({
    id: z.string(),
    object: z.literal('upload'),
    filename: z.string(),
    offset: int.meta({ description: 'Bytes received from 0 without a gap: a client sending in order continues here' }),
    size: int,
    received: int.meta({ description: 'Bytes received in all, in any order (parts may be sent in parallel)' }),
    // A pair as a two-item array: OpenAPI 3.1 has no tuple form that every tool reads.
    ranges: z.array(z.array(int).length(2)).meta({ description: 'The bytes received, as sorted [start, end) ranges: a client sending parts in parallel resends only the gaps' }),
    validated: int.meta({ description: 'Bytes of the file validation has read so far: it follows the parts as they arrive (from byte 0 on, without a gap) and ends on completion; the size once completed' }),
    status: z.enum(['open', 'completing', 'completed', 'failed', 'aborted']),
    fileId: z.string().nullable(),
    error: record.nullable(),
    chunkSize: int.meta({ description: 'Suggested chunk size' }),
    expiresAt: time,
    createdAt: time,
  })
  .meta({ id: 'Upload' });

export const uploadChunkSchema = z.object({ id: z.string(), offset: int, size: int });

export const versionResultSchema = z.object({
  file: datasetVersionSchema,
  dataset: datasetSchema,
  report: record.nullable(),
  reused: z.boolean(),
});

/** The optional upload fields, shared by single-shot uploads (form fields / query) and resumable ones. */
const uploadOptions = {
  dataset: z.string().max(100).optional().meta({ description: 'Dataset name (created when new). Default: the file name without its extensions.' }),
  format: z.enum(['auto', ...datasetFormats]).optional().meta({ description: 'Record format; default: detected from the first record or the columns.' }),
  columns: z
    .union([z.record(z.string(), z.string()), z.string()])
    .optional()
    .meta({
      description: 'CSV / Parquet column mapping, target field → source column (JSON text in a form field or query parameter).',
      examples: [{ prompt: 'question', completion: 'answer' }],
    }),
  base_model: z.string().optional().meta({ description: 'Catalog id whose tokenizer counts tokens and flags too-long examples.' }),
};

const binary = z.string().meta({ format: 'binary' });

export const uploadFormSchema = z.object({ file: binary, purpose: z.enum(['fine-tune']).optional(), ...uploadOptions });

export const createUploadSchema = z.object({
  filename: z.string(),
  size: int.min(0),
  purpose: z.enum(['fine-tune']).optional(),
  ...uploadOptions,
  baseModel: z.string().optional().meta({ description: 'The same as base_model' }),
});

export const rawBodySchema = binary.meta({ description: 'Raw body; filename, purpose, dataset, format, columns and base_model as query parameters' });

// ---------------------------------------------------------------------------------------------
// Jobs and models

const openAIHyperparameters = z.object({
  n_epochs: int,
  batch_size: int,
  learning_rate_multiplier: z.number(),
  learning_rate: z.number(),
  lora_rank: int,
});

export const stageSchema = z
  .object({
    stage: z.string(),
    device: z.string().nullable(),
    variant: z.string().nullable(),
    state: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
    started_at: time,
    finished_at: time.nullable(),
    duration_ms: int,
  })
  .meta({ id: 'Stage' });

export const variantSchema = z
  .object({
    id: z.string().optional().meta({ description: 'Absent in a signed manifest, which names variants by device and quantization' }),
    pool: z.string().nullable().optional().meta({ description: 'The pool whose hardware measured this variant' }),
    device: z.string(),
    quantization: z.string(),
    format: z.literal('gguf'),
    size_bytes: int,
    sha256: z.string(),
    selected: z.boolean(),
    download_url: z.url(),
    metrics: record.meta({
      description:
        'Measured on the pool: speed, time to first token, peak RSS, task accuracy, and `quality` against the F16 reference on the evaluation split (mean and p99 KL-divergence, same-top-token %, perplexity ratio)',
    }),
    imatrix: record.optional().meta({ description: 'The importance matrix (llama-imatrix on a sample of the training data) a K- or I-quant was quantized with' }),
    measured_on: record.nullable(),
  })
  .meta({ id: 'Variant' });

export const modelSchema = z
  .object({
    model: z.string(),
    version: int,
    id: z.string().optional().meta({ description: 'Absent in a signed manifest' }),
    base_model: z.string(),
    job: z.string(),
    created_at: time,
    evaluation: record.nullable(),
    llama_cpp_version: z.string().nullable(),
    signature: z
      .object({ algorithm: z.literal('ed25519'), key_id: z.string(), value: z.string() })
      .nullable()
      .meta({ description: 'ed25519 over the canonical JSON (sorted keys) of the document without `signature`; null until published' }),
    variants: z.array(variantSchema),
  })
  .meta({ id: 'Model', description: 'A model version; once published, the very manifest that was signed' });

export const jobSchema = z
  .object({
    id: z.string(),
    object: z.literal('fine_tuning.job'),
    created_at: unixTime,
    finished_at: unixTime.nullable(),
    model: z.string(),
    fine_tuned_model: z.string().nullable(),
    organization_id: z.string(),
    status: z.enum(jobStatuses),
    error: z.object({ code: z.string(), message: z.string(), param: z.string().nullable() }).nullable(),
    hyperparameters: openAIHyperparameters.meta({ description: "As created, defaults filled in; the objective is the method's type." }),
    training_file: z.string(),
    validation_file: z.string().nullable(),
    trained_tokens: int.nullable(),
    result_files: z.array(z.string()),
    seed: int,
    estimated_finish: z.null(),
    integrations: z.array(z.unknown()),
    metadata: z.null(),
    user_provided_suffix: z.string().nullable(),
    method: z.union([
      z.object({ type: z.literal('supervised'), supervised: z.object({ hyperparameters: openAIHyperparameters }) }),
      z.object({ type: z.literal('dpo'), dpo: z.object({ hyperparameters: openAIHyperparameters.extend({ beta: z.number() }) }) }),
    ]),
    training_type: z.enum(['lora', 'full']),
    target_devices: z.array(z.string()),
    target_pools: z.array(z.string()).meta({ description: 'Pools the devices are measured on; empty = an online platform pool per device' }),
    training_pool: z.string().nullable().meta({ description: 'The training pool named at launch; null = the default' }),
    quantizations: z.array(z.string()).nullable().meta({ description: "The quantizations the job narrowed its devices' candidates to; null = every candidate" }),
    budgets: budgetsSchema.nullable().optional().meta({ description: "Budgets the job set for every target device; null = each profile's defaults" }),
    target_budgets: z.record(z.string(), budgetsSchema).nullable().optional().meta({ description: 'Budgets the job set per target device, over `budgets`' }),
    memory_plan: z
      .object({
        estimated_peak_bytes: int,
        gradient_checkpointing: z.boolean(),
        pool_memory_bytes: int.nullable(),
        training_pool: z.string(),
      })
      .nullable()
      .optional()
      .meta({ description: "The peak memory planned at launch on the training pool, and whether gradient checkpointing was switched on to fit it; the measured peak is in result.training.hardware. Null on jobs from before memory planning" }),
    // A job alone (not in a list) adds its stages, result and model version.
    started_at: time.nullable().optional(),
    stages: z.array(stageSchema).optional(),
    result: record.nullable().optional(),
    model_version: modelSchema.nullable().optional(),
  })
  .meta({ id: 'Job' });

export const jobEventSchema = z
  .object({
    id: z.string(),
    object: z.literal('fine_tuning.job.event'),
    created_at: unixTime,
    level: z.enum(['info', 'warn', 'error']),
    message: z.string(),
    data: record,
    type: z.enum(['message', 'metrics']),
    seq: int,
  })
  .meta({ id: 'JobEvent' });

export const deviceSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    arch: z.enum(['x86_64', 'aarch64']),
    requiredFlags: z.array(z.string()),
    quantizations: z.array(z.string()),
    defaultBudget: z.object({ maxSizeBytes: int, maxPeakRssBytes: int }),
    pools: z.array(z.string()).meta({ description: 'Online pools that measure this profile' }),
    available: z.boolean(),
  })
  .meta({ id: 'Device' });

const spreadSchema = z.object({ n: int, mean: z.number(), stdev: z.number(), min: z.number(), max: z.number() });

export const poolSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    owner: z.enum(['platform', 'organization']).meta({ description: "'platform': run by the operator, shared; 'organization': your own machines" }),
    kind: z.enum(['device', 'train']),
    profiles: z.array(z.string()),
    online: z.boolean(),
    pollers: int.meta({ description: 'Workers (platform) or agents (organization) seen in the last minute or so' }),
    last_poll_at: time.nullable(),
    registered_at: time,
    last_seen_at: time,
    fingerprint: record.nullable(),
    token_prefix: z.string().nullable().meta({ description: "The enrollment token's first characters (organization pools)" }),
    agents: z.array(
      z.object({ id: z.string(), name: z.string(), profiles: z.array(z.string()), online: z.boolean(), last_seen_at: time, fingerprint: record }),
    ),
    queue_depth: int.meta({ description: 'Tasks waiting for an agent' }),
    current_tasks: z.array(z.object({ id: z.string(), kind: z.enum(['quantize', 'benchmark']), job_id: z.string(), device: z.string(), agent_id: z.string().nullable(), created_at: time })),
    recent_results: z.array(
      z.object({ task_id: z.string(), job_id: z.string(), device: z.string(), finished_at: time, decode_tokens_per_second: z.number(), prefill_tokens_per_second: z.number(), peak_rss_bytes: z.number() }),
    ),
    decode_spread: spreadSchema.nullable().meta({ description: 'Spread of decode tokens/s over the recent results' }),
  })
  .meta({ id: 'Pool' });

export const createdPoolSchema = poolSchema.extend({
  enrollment_token: z.string().meta({ description: 'Shown once: the agent starts with it; only its hash is stored' }),
}).meta({ id: 'CreatedPool' });

export const poolIdParam = z.object({ pool_id: z.string().meta({ description: 'pool_… (or a platform pool id)' }) });

// ---------------------------------------------------------------------------------------------
// Fleets

export const fleetSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    token_prefix: z.string().meta({ description: "The enrollment token's first characters" }),
    created_at: time,
    devices: z.object({ total: int, online: int, revoked: int, failing: int }),
    versions: z.array(z.object({ profile: z.string(), installed_version: z.string().nullable(), devices: int })).meta({ description: 'Enrolled devices by profile and installed model version' }),
  })
  .meta({ id: 'Fleet' });

export const createdFleetSchema = fleetSchema
  .extend({ enrollment_token: z.string().meta({ description: 'Shown once: devices enroll with it; only its hash is stored' }) })
  .meta({ id: 'CreatedFleet' });

export const deviceUpdateSchema = z
  .object({
    release_id: z.string().nullable(),
    status: z.enum(['installed', 'failed']).nullable(),
    error: z.string().nullable(),
    smoke_latency_ms: z.number().nullable(),
    reported_at: time.nullable(),
  })
  .meta({ id: 'DeviceUpdateReport', description: 'The last update the device reported' });

export const fleetDeviceSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    profile: z.string(),
    enrolled_at: time,
    last_check_in_at: time.nullable(),
    online: z.boolean(),
    installed_version: z.string().nullable(),
    health: z.enum(['ok', 'degraded', 'failed']).nullable(),
    last_error: z.string().nullable(),
    revoked_at: time.nullable(),
    channel: z.string(),
    rollout_bucket: int.meta({ description: '0–99, stable: a release at p % reaches the devices whose bucket is below p' }),
    update: deviceUpdateSchema,
  })
  .meta({ id: 'FleetDevice' });

export const enrolledDeviceSchema = fleetDeviceSchema
  .extend({ device_id: z.string(), device_token: z.string().meta({ description: 'Shown once: the device checks in with it' }), check_in_seconds: int })
  .meta({ id: 'EnrolledDevice' });

export const checkInAnswerSchema = fleetDeviceSchema.extend({ check_in_seconds: int.meta({ description: 'When to check in next' }) }).meta({ id: 'CheckInAnswer' });


export const releaseSchema = z
  .object({
    object: z.literal('fleet.release'),
    id: z.string(),
    fleet_id: z.string(),
    channel: z.string(),
    seq: int.meta({ description: "The release's number in its channel: the version of its TUF targets and snapshot" }),
    model: z.string(),
    model_version_id: z.string(),
    steps: z.array(int).meta({ description: 'Rollout steps in percent' }),
    step_index: int,
    rollout_percent: int.meta({ description: 'The share of the channel served this release now' }),
    state: z.enum(['rolling', 'paused', 'halted', 'complete', 'superseded', 'rolled_back']),
    state_reason: z.string().nullable(),
    soak_minutes: int.nullable(),
    failure_threshold: z.number(),
    min_reports: int,
    step_started_at: time,
    rollback_of: z.string().nullable(),
    created_at: time,
    targets: z.array(z.object({ profile: z.string(), variant_id: z.string(), sha256: z.string(), size_bytes: int, path: z.string() })),
    step_stats: z.array(z.object({ percent: int, devices: int, reports: int, failures: int, failure_rate: z.number().nullable() })).meta({ description: 'Per step: devices whose bucket it adds, their reports and failures' }),
  })
  .meta({ id: 'FleetRelease' });

export const releaseIdParams = z.object({ fleet_id: z.string().meta({ description: 'flt_…' }), release_id: z.string().meta({ description: 'rel_…' }) });

export const rootRotationSchema = z
  .object({ object: z.literal('fleet.root'), fleet_id: z.string(), version: int.meta({ description: 'The new root version' }), key_id: z.string().meta({ description: 'The new root key id' }) })
  .meta({ id: 'RootRotation' });

export const fleetIdParam = z.object({ fleet_id: z.string().meta({ description: 'flt_…' }) });

// ---------------------------------------------------------------------------------------------
// Identity

const permission = z.object({ allowed: z.boolean(), reason: z.string().nullable() });

export const meSchema = z
  .object({
    object: z.literal('me'),
    user: z.object({ id: z.string(), email: z.string(), name: z.string().nullable() }).nullable(),
    org: z.object({ id: z.string(), name: z.string(), slug: z.string() }),
    role: z.enum(roles),
    via: z.enum(['session', 'api_key']),
    scopes: z.array(z.enum(apiKeyScopes)),
    email_verified: z.boolean(),
    permissions: z.record(z.enum(actions), permission).meta({ description: `One entry per action: ${actions.join(', ')}.` }),
    orgs: int.meta({ description: 'How many organizations the user belongs to' }),
  })
  .meta({ id: 'Me' });

export const memberSchema = z
  .object({ object: z.literal('member'), user_id: z.string(), email: z.string(), name: z.string().nullable(), role: z.enum(roles), joined_at: time })
  .meta({ id: 'Member' });

/** The members of an organization come in one list, never paged. */
export const memberListSchema = z.object({ object: z.literal('list'), data: z.array(memberSchema) });

export const createInvitationSchema = z.object({ email: z.email(), role: z.enum(roles) });

export const invitationSchema = z
  .object({ object: z.literal('invitation'), id: z.string(), email: z.string(), role: z.enum(roles), expires_at: time })
  .meta({ id: 'Invitation' });

export const auditEventSchema = z
  .object({
    id: z.string(),
    object: z.literal('audit_event'),
    seq: int,
    at: time,
    actor: z.object({ user_id: z.string().nullable(), key_id: z.string().nullable(), label: z.string().nullable() }),
    action: z.enum(auditActions),
    target: z.object({ type: z.string().nullable(), id: z.string().nullable() }).nullable(),
    outcome: z.enum(['success', 'failure']),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    data: record.nullable(),
  })
  .meta({ id: 'AuditEvent' });

export const auditPageSchema = listOf(auditEventSchema).extend({ next_cursor: int.nullable().meta({ description: 'Pass as `before` for the next page' }) });

// ---------------------------------------------------------------------------------------------
// Parameters

const pathId = (description: string) => z.string().meta({ description });
export const fileIdParam = z.object({ file_id: pathId('file-…') });
export const jobIdParam = z.object({ job_id: pathId('ftjob-…') });
export const datasetIdParam = z.object({ dataset_id: pathId('ds_…') });
export const versionParams = datasetIdParam.extend({ version: pathId('The version: its file id (file-…) or its number (1, 2, …)') });
export const uploadIdParam = z.object({ upload_id: pathId('upl_…') });
export const modelParam = z.object({ fine_tuned_model: pathId('The fine_tuned_model name of a job') });

export const pageQuery = z.object({
  after: z.string().optional().meta({ description: 'Cursor: the id of the last item of the previous page.' }),
  limit: int.min(1).max(100).optional(),
});

export type RestFile = z.output<typeof fileSchema>;
export type RestDatasetVersion = z.output<typeof datasetVersionSchema>;
export type RestDataset = z.output<typeof datasetSchema>;
export type RestDatasetDetail = z.output<typeof datasetDetailSchema>;
export type RestUpload = z.output<typeof uploadSchema>;
export type RestVersionResult = z.output<typeof versionResultSchema>;
export type RestStage = z.output<typeof stageSchema>;
export type RestVariant = z.output<typeof variantSchema>;
export type RestModel = z.output<typeof modelSchema>;
export type RestJob = z.output<typeof jobSchema>;
export type RestJobEvent = z.output<typeof jobEventSchema>;
export type RestDevice = z.output<typeof deviceSchema>;
export type RestPool = z.output<typeof poolSchema>;
export type RestCreatedPool = z.output<typeof createdPoolSchema>;
export type RestFleet = z.output<typeof fleetSchema>;
export type RestCreatedFleet = z.output<typeof createdFleetSchema>;
export type RestFleetDevice = z.output<typeof fleetDeviceSchema>;
export type RestMe = z.output<typeof meSchema>;
export type RestMember = z.output<typeof memberSchema>;
export type RestInvitation = z.output<typeof invitationSchema>;
export type RestAuditEvent = z.output<typeof auditEventSchema>;

export type RestRelease = z.infer<typeof releaseSchema>;

const money = z.number().meta({ description: 'US dollars' });

export const jobEstimateSchema = z
  .object({
    object: z.literal('fine_tuning.job.estimate'),
    model: z.string(),
    n_epochs: z.number().int(),
    training_tokens: z.number().int(),
    estimated_seconds: z.number().nullable(),
    estimated_minutes: z.number().nullable(),
    estimated_cost: money.nullable(),
    currency: z.literal('usd'),
    price: z.object({ per_million_tokens: money, plan: z.string() }),
    basis: z.string(),
    spending_cap: z.object({ monthly_cap: money, spent_this_month: money, remaining: money }).nullable(),
    exceeds_cap: z.boolean(),
    memory: z
      .object({
        peak_bytes: z.number().int().meta({ description: 'Estimated peak memory of the training run (weights, gradients, optimizer state, activations, runtime)' }),
        gradient_checkpointing: z.boolean().meta({ description: 'Switched on because the run fits the pool only with it' }),
        pool_memory_bytes: z.number().int().nullable().meta({ description: "Memory of the training pool's smallest trainer online; null when its trainers do not report it" }),
        training_pool: z.string(),
      })
      .nullable()
      .meta({ description: 'The memory plan; null for a model whose architecture the platform does not know' }),
  })
  .meta({ id: 'JobEstimate' });

export const jobCostSchema = z
  .object({
    object: z.literal('fine_tuning.job.cost'),
    job_id: z.string(),
    currency: z.literal('usd'),
    lines: z.array(z.object({ item: z.enum(['training', 'benchmarks', 'storage']), quantity: z.number(), unit: z.string(), unit_price: money, amount: money })),
    total: money,
    credit: z.object({ amount: money, reason: z.string(), created_at: z.number().int() }).nullable(),
    net: money,
  })
  .meta({ id: 'JobCost' });

export const billingSchema = z
  .object({
    object: z.literal('billing'),
    enabled: z.boolean(),
    plan: z.object({ id: z.enum(['free', 'payg', 'enterprise']), name: z.string(), summary: z.string() }),
    subscription: z.object({ status: z.string().nullable(), id: z.string().nullable() }),
    period_start: z.number().int(),
    quotas: z.array(z.object({ key: z.string(), name: z.string(), unit: z.string(), limit: z.number().nullable(), used: z.number() })),
    spent_this_month: money,
    monthly_cap: money.nullable(),
    credits: z.array(z.object({ job_id: z.string().nullable(), amount: money, reason: z.string(), created_at: z.number().int() })),
    prices: z.object({ training_price_factor: z.number(), benchmark_per_device_minute: money, storage_per_gb_day: money, fleet_device_per_month: money }),
    currency: z.literal('usd'),
  })
  .meta({ id: 'Billing' });

export const spendingCapBodySchema = z.object({ monthly_cap: money.nullable().meta({ description: 'US dollars per calendar month (UTC); null removes the cap' }) }).meta({ id: 'SpendingCap' });

export const invoiceSchema = z
  .object({
    id: z.string(),
    object: z.literal('invoice'),
    number: z.string().nullable(),
    status: z.string().nullable(),
    amount_due: money,
    amount_paid: money,
    currency: z.string(),
    period_start: z.number().int(),
    period_end: z.number().int(),
    hosted_invoice_url: z.string().nullable(),
    invoice_pdf: z.string().nullable(),
  })
  .meta({ id: 'Invoice' });

export const stripeSessionSchema = z.object({ object: z.string(), url: z.string(), id: z.string().optional() }).meta({ id: 'StripeSession' });
