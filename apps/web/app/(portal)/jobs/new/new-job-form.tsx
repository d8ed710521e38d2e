'use client';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { errorCode, errorMessage, trpc } from '@/lib/trpc';
import { usePoll } from '@/lib/use-poll';
import { fmtNum, fmtParams } from '@/lib/format';
import { DatasetVersionPicker } from '@/components/dataset-version-picker';
import { usePermission } from '@/lib/me';
import { DeniedReason } from '@/components/denied-reason';
import { JobEstimate, useJobEstimate } from './job-estimate';
import { DEFAULT_DPO_BETA, quantizations, type BaseModel, type Quantization, type TrainingDefaults } from '@edgetune/contracts';

type Method = BaseModel['methods'][number];

/** What the form shows of a catalog model. */
export type BaseModelOption = Pick<BaseModel, 'id' | 'name' | 'parameters' | 'contextLength' | 'methods' | 'description'> & {
  /** The model's recommended hyperparameters: what an empty field means. */
  defaults: Record<Method, TrainingDefaults>;
  /** The same for preference tuning (DPO). */
  dpoDefaults: Record<Method, TrainingDefaults>;
};

type NumericHp = 'n_epochs' | 'learning_rate' | 'batch_size' | 'lora_rank';

/** The optional numeric hyperparameters, in form order; an empty field leaves the model's default. */
const numericFields: { key: NumericHp; id: string; label: string; min: number; max: number; step: number | 'any'; testid: string }[] = [
  { key: 'n_epochs', id: 'epochs', label: 'Epochs', min: 1, max: 50, step: 1, testid: 'job-epochs' },
  { key: 'learning_rate', id: 'lr', label: 'Learning rate', min: 0, max: 1, step: 'any', testid: 'job-lr' },
  { key: 'batch_size', id: 'batch', label: 'Batch size', min: 1, max: 256, step: 1, testid: 'job-batch' },
  { key: 'lora_rank', id: 'rank', label: 'LoRA rank', min: 1, max: 256, step: 1, testid: 'job-rank' },
];

type BudgetField = 'max_size_bytes' | 'max_peak_rss_bytes' | 'min_decode_tokens_per_second' | 'max_ttft_ms' | 'min_task_accuracy' | 'max_kl_divergence';

/** Each budget as the form asks for it, and the factor to the API's unit. */
const budgetFields: { key: BudgetField; label: string; scale: number; integer?: boolean }[] = [
  { key: 'max_size_bytes', label: 'Max file size (MiB)', scale: 1024 ** 2, integer: true },
  { key: 'max_peak_rss_bytes', label: 'Max peak memory (MiB)', scale: 1024 ** 2, integer: true },
  { key: 'min_decode_tokens_per_second', label: 'Min decode (tok/s)', scale: 1 },
  { key: 'max_ttft_ms', label: 'Max time to first token (ms)', scale: 1 },
  { key: 'min_task_accuracy', label: 'Min task accuracy (%)', scale: 0.01 },
  { key: 'max_kl_divergence', label: 'Max KL-divergence from F16', scale: 1 },
];

type BudgetText = Partial<Record<BudgetField, string>>;

/** The six budget inputs, for every device or (with `device`) for one. */
function BudgetInputs({ values, onChange, device }: { values: BudgetText; onChange: (next: BudgetText | ((cur: BudgetText) => BudgetText)) => void; device?: string }) {
  return (
    <div className="row" style={{ flexWrap: 'wrap', gap: 12 }}>
      {budgetFields.map((f) => (
        <label key={f.key} className="small" style={{ margin: 0 }}>
          {f.label}
          <input
            type="number"
            min={0}
            step="any"
            value={values[f.key] ?? ''}
            onChange={(e) => onChange((b) => ({ ...b, [f.key]: e.target.value }))}
            data-testid="budget-input"
            data-budget={f.key}
            {...(device ? { 'data-device': device } : {})}
            style={{ width: 110 }}
          />
        </label>
      ))}
    </div>
  );
}

/** Overrides of the devices the job targets; devices left empty are not sent. */
function targetBudgetsFromForm(text: Record<string, BudgetText>, devices: string[]): Record<string, Partial<Record<BudgetField, number>>> | undefined {
  const out = Object.fromEntries(devices.map((d) => [d, budgetsFromForm(text[d] ?? {})]).filter((e): e is [string, Partial<Record<BudgetField, number>>] => e[1] !== undefined));
  return Object.keys(out).length ? out : undefined;
}

function budgetsFromForm(text: Partial<Record<BudgetField, string>>): Partial<Record<BudgetField, number>> | undefined {
  const out: Partial<Record<BudgetField, number>> = {};
  for (const f of budgetFields) {
    const t = text[f.key]?.trim();
    if (!t) continue;
    const v = Number(t) * f.scale;
    // Sent as typed (the API names a bad one); only rounding is done here.
    out[f.key] = f.integer ? Math.round(v) : v;
  }
  return Object.keys(out).length ? out : undefined;
}

export function NewJobForm({ models }: { models: BaseModelOption[] }) {
  const router = useRouter();
  const train = usePermission('train');
  const manageBilling = usePermission('manage_billing');
  const datasets = usePoll(() => trpc.datasets.list.query({ limit: 100 }), null);
  const devices = usePoll(() => trpc.devices.list.query(), 10_000);

  const [model, setModel] = useState(models[0]?.id ?? '');
  const [trainingFile, setTrainingFile] = useState('');
  // The objective follows the training data: preference pairs train with DPO.
  const [trainingFormat, setTrainingFormat] = useState<string | null>(null);
  const [beta, setBeta] = useState('');
  const [validationFile, setValidationFile] = useState('');
  const [method, setMethod] = useState<Method>(models[0]?.methods[0] ?? 'lora');
  const [numbers, setNumbers] = useState<Partial<Record<NumericHp, string>>>({});
  const [suffix, setSuffix] = useState('');
  const [targets, setTargets] = useState<string[]>([]);
  // Every candidate by default; unticking narrows each device's list (the API keeps catalog order).
  const [quants, setQuants] = useState<Quantization[]>([...quantizations]);
  // Budgets for every target, in the units people think in (MB, %); empty = the profile's default or none.
  const [budgetText, setBudgetText] = useState<Partial<Record<BudgetField, string>>>({});
  // Per device: the fields it overrides, over the budgets on every device.
  const [deviceBudgetText, setDeviceBudgetText] = useState<Record<string, Partial<Record<BudgetField, string>>>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ message: string; code: string | null } | null>(null);

  const selectedModel = models.find((m) => m.id === model);
  const methods = selectedModel?.methods ?? ['lora', 'full'];
  const dpo = trainingFormat === 'preference';
  const defaults = (selectedModel ?? models[0])[dpo ? 'dpoDefaults' : 'defaults'][method];
  const datasetRows = datasets.data?.data ?? [];
  const deviceRows = devices.data?.devices ?? [];
  const online = deviceRows.filter((d) => d.available);

  /** lora_rank only applies to a LoRA job. */
  const applies = (key: NumericHp) => key !== 'lora_rank' || method === 'lora';

  function toggle(id: string, on: boolean) {
    setTargets((t) => (on ? [...t, id] : t.filter((x) => x !== id)));
  }

  /** What the form submits: jobs.create's input, and what the estimate is asked for. */
  const input = {
    model,
    training_file: trainingFile,
    validation_file: validationFile || null,
    hyperparameters: {
      method,
      ...(dpo && beta.trim() ? { beta: Number(beta) } : {}),
      ...Object.fromEntries(numericFields.filter((f) => applies(f.key) && numbers[f.key]?.trim()).map((f) => [f.key, Number(numbers[f.key])])),
    },
    target_devices: targets.length ? targets : undefined,
    quantizations: quants.length < quantizations.length ? quants : undefined,
    budgets: budgetsFromForm(budgetText),
    target_budgets: targetBudgetsFromForm(deviceBudgetText, targets.length ? targets : online.map((d) => d.id)),
    suffix: suffix.trim() || null,
  };
  // Estimating needs the train permission too: without it the disabled button already says why.
  const estimate = useJobEstimate(input, Boolean(trainingFile && model) && train.allowed);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await trpc.jobs.create.mutate(input);
      router.push(`/jobs/${res.id}`);
    } catch (err) {
      setError({ message: errorMessage(err), code: errorCode(err) });
      setBusy(false);
    }
  }

  return (
    <>
      <div className="page-head">
        <h1>New fine-tuning job</h1>
      </div>
      <form onSubmit={onSubmit} data-testid="new-job-form">
        <div className="card">
          <h2>Model and data</h2>
          <label htmlFor="model">Base model</label>
          <select
            id="model"
            value={model}
            onChange={(e) => {
              setModel(e.target.value);
              const m = models.find((x) => x.id === e.target.value);
              if (m) setMethod(m.methods[0]); // each model starts from its own default method
            }}
            data-testid="job-model"
          >
            {models.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name} — {fmtParams(m.parameters)} parameters, {fmtNum(m.contextLength, 0)} context
              </option>
            ))}
          </select>
          {selectedModel && <p className="hint">{selectedModel.description}</p>}

          <div className="grid2">
            <DatasetVersionPicker
              id="training"
              label="Training data"
              datasets={datasetRows}
              value={trainingFile}
              onChange={(id, format) => {
                setTrainingFile(id);
                setTrainingFormat(format);
              }}
              emptyLabel="Choose a dataset…"
              required
              testid="job-training"
            />
            <DatasetVersionPicker
              id="validation"
              label="Validation data (optional)"
              datasets={datasetRows}
              value={validationFile}
              onChange={setValidationFile}
              emptyLabel="None — hold out part of the training data"
              testid="job-validation"
            />
          </div>
          {trainingFile && (
            <p className="hint" data-testid="job-objective">
              {dpo
                ? 'Preference pairs: trained with Direct Preference Optimization (DPO) against the base model. A validation dataset must hold preference pairs too.'
                : 'Conversations: supervised fine-tuning on the assistant answers. A validation dataset must hold conversations too.'}
            </p>
          )}
          {datasets.error && <div className="alert error">{datasets.error}</div>}
          {datasets.data && datasetRows.length === 0 && (
            <p className="hint">
              No datasets yet — <Link href="/datasets">upload one</Link> first.
            </p>
          )}
        </div>

        <div className="card">
          <h2>Hyperparameters</h2>
          <div className="fields">
            <div>
              <label htmlFor="method">Method</label>
              <select id="method" value={method} onChange={(e) => setMethod(e.target.value as Method)} data-testid="job-method">
                {methods.map((m) => (
                  <option key={m} value={m}>
                    {m === 'lora' ? 'LoRA adapter' : 'Full fine-tune'}
                  </option>
                ))}
              </select>
            </div>
            {numericFields.map((f) => (
              <div key={f.key}>
                <label htmlFor={f.id}>{f.label}</label>
                <input
                  id={f.id}
                  type="number"
                  min={f.min}
                  max={f.max}
                  step={f.step}
                  placeholder={`default ${defaults[f.key]}`}
                  disabled={!applies(f.key)}
                  value={numbers[f.key] ?? ''}
                  onChange={(e) => setNumbers((n) => ({ ...n, [f.key]: e.target.value }))}
                  data-testid={f.testid}
                />
              </div>
            ))}
            {dpo && (
              <div>
                <label htmlFor="beta">DPO beta</label>
                <input
                  id="beta"
                  type="number"
                  min={0}
                  max={10}
                  step="any"
                  placeholder={`default ${DEFAULT_DPO_BETA}`}
                  value={beta}
                  onChange={(e) => setBeta(e.target.value)}
                  data-testid="job-beta"
                />
              </div>
            )}
            <div>
              <label htmlFor="suffix">Model name suffix (optional)</label>
              <input
                id="suffix"
                type="text"
                pattern="[a-z0-9-]{1,40}"
                placeholder="e.g. support-router"
                value={suffix}
                onChange={(e) => setSuffix(e.target.value)}
                data-testid="job-suffix"
              />
            </div>
          </div>
        </div>

        <div className="card">
          <h2>Target devices</h2>
          <p className="muted">
            Each target gets its own quantized GGUF variants, benchmarked on real hardware of that kind. Leave every box unticked to target{' '}
            <strong>every device an online hardware pool serves</strong>
            {devices.data ? (
              <> (now: {online.length ? online.map((d) => d.id).join(', ') : 'none online'})</>
            ) : null}
            .
          </p>
          {devices.error && <div className="alert error">{devices.error}</div>}
          <div className="table-wrap">
            <table data-testid="devices-table">
              <thead>
                <tr>
                  <th />
                  <th>Device profile</th>
                  <th>Quantizations tried</th>
                  <th>Hardware pool</th>
                </tr>
              </thead>
              <tbody>
                {deviceRows.map((d) => (
                  <tr key={d.id}>
                    <td>
                      <input
                        type="checkbox"
                        id={`dev-${d.id}`}
                        checked={targets.includes(d.id)}
                        disabled={!d.available}
                        onChange={(e) => toggle(d.id, e.target.checked)}
                        data-testid="device-checkbox"
                        data-device={d.id}
                      />
                    </td>
                    <td>
                      <label htmlFor={`dev-${d.id}`} style={{ margin: 0 }}>
                        {d.name} <code className="muted">{d.id}</code>
                      </label>
                      <div className="small muted">{d.description}</div>
                    </td>
                    <td>{d.quantizations.join(', ')}</td>
                    <td>
                      {d.available ? (
                        <>
                          <span className="badge online" data-testid="device-online" data-device={d.id}>
                            online
                          </span>{' '}
                          <span className="small muted">{d.pools.join(', ')}</span>
                        </>
                      ) : (
                        <span className="badge offline">no pool online</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {devices.loading && <div className="empty">Loading devices…</div>}
          </div>
          <fieldset className="row" data-testid="job-quantizations" style={{ border: 0, padding: 0, marginTop: 12 }}>
            <legend className="small">Quantizations to measure on each device (F16 is the quality reference)</legend>
            {quantizations.map((q) => (
              <label key={q} className="row small" style={{ margin: 0, gap: 4 }}>
                <input
                  type="checkbox"
                  checked={quants.includes(q)}
                  onChange={(e) => setQuants((cur) => (e.target.checked ? quantizations.filter((x) => x === q || cur.includes(x)) : cur.filter((x) => x !== q)))}
                  data-testid="quant-checkbox"
                  data-quant={q}
                />
                {q}
              </label>
            ))}
          </fieldset>
          <fieldset data-testid="job-budgets" style={{ border: 0, padding: 0, marginTop: 12 }}>
            <legend className="small">
              Budgets on every device: the selected variant must meet all of them (empty: the device profile&apos;s size and memory defaults, no other bound)
            </legend>
            <BudgetInputs values={budgetText} onChange={setBudgetText} />
            {(targets.length ? targets : online.map((d) => d.id)).map((id) => (
              <details key={id} data-testid="device-budgets" data-device={id} style={{ marginTop: 8 }}>
                <summary className="small">
                  Budgets for <code>{id}</code> only (override the ones above field by field)
                </summary>
                <BudgetInputs
                  device={id}
                  values={deviceBudgetText[id] ?? {}}
                  onChange={(next) => setDeviceBudgetText((all) => ({ ...all, [id]: typeof next === 'function' ? next(all[id] ?? {}) : next }))}
                />
              </details>
            ))}
          </fieldset>
        </div>

        <JobEstimate state={estimate} />

        {error && (
          <div className="alert error" data-testid="job-create-error" data-code={error.code ?? ''}>
            {error.message}
            {error.code === 'quota_exceeded' && manageBilling.allowed && (
              <>
                {' '}
                <Link href="/billing" data-testid="job-create-billing-link">
                  Open Billing
                </Link>
              </>
            )}
          </div>
        )}
        <div className="row">
          <button type="submit" disabled={!train.allowed || busy || !trainingFile || !model || quants.length === 0} title={train.reason ?? undefined} data-testid="job-submit">
            {busy ? 'Starting…' : 'Start fine-tuning'}
          </button>
          <DeniedReason permission={train} testid="job-submit-reason" />
          <Link href="/jobs" className="button secondary">
            Cancel
          </Link>
        </div>
      </form>
    </>
  );
}
