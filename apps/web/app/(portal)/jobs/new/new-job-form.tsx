'use client';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { errorMessage, trpc } from '@/lib/trpc';
import { usePoll } from '@/lib/use-poll';
import { fmtNum } from '@/lib/format';
import type { TrainingDefaults } from '@edgetune/contracts';

export interface BaseModelOption {
  id: string;
  name: string;
  parameters: number;
  contextLength: number;
  methods: ('lora' | 'full')[];
  description: string;
  builtin: boolean;
  /** The model's recommended hyperparameters: what an empty field means. */
  defaults: Record<'lora' | 'full', TrainingDefaults>;
}

function fmtParams(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : `${Math.round(n / 1e6)}M`;
}

export function NewJobForm({ models }: { models: BaseModelOption[] }) {
  const router = useRouter();
  const files = usePoll(() => trpc.files.list.query({}), null);
  const devices = usePoll(() => trpc.devices.list.query(), 10_000);

  const [model, setModel] = useState(models[0]?.id ?? '');
  const [trainingFile, setTrainingFile] = useState('');
  const [validationFile, setValidationFile] = useState('');
  const [method, setMethod] = useState<'lora' | 'full'>('lora');
  const [epochs, setEpochs] = useState('');
  const [learningRate, setLearningRate] = useState('');
  const [batchSize, setBatchSize] = useState('');
  const [loraRank, setLoraRank] = useState('');
  const [suffix, setSuffix] = useState('');
  const [targets, setTargets] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const selectedModel = models.find((m) => m.id === model);
  const methods = selectedModel?.methods ?? ['lora', 'full'];
  const defaults = (selectedModel ?? models[0]).defaults[method];
  const fileRows = files.data?.data ?? [];
  const deviceRows = devices.data?.devices ?? [];
  const online = deviceRows.filter((d) => d.available);

  function toggle(id: string, on: boolean) {
    setTargets((t) => (on ? [...t, id] : t.filter((x) => x !== id)));
  }

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await trpc.jobs.create.mutate({
        model,
        training_file: trainingFile,
        validation_file: validationFile || null,
        hyperparameters: {
          method,
          ...(epochs.trim() ? { n_epochs: Number(epochs) } : {}),
          ...(batchSize.trim() ? { batch_size: Number(batchSize) } : {}),
          ...(method === 'lora' && loraRank.trim() ? { lora_rank: Number(loraRank) } : {}),
          ...(learningRate.trim() ? { learning_rate: Number(learningRate) } : {}),
        },
        target_devices: targets.length ? targets : undefined,
        suffix: suffix.trim() || null,
      });
      router.push(`/jobs/${res.id}`);
    } catch (err) {
      setError(errorMessage(err));
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
              if (m && !m.methods.includes(method)) setMethod(m.methods[0]);
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
            <div>
              <label htmlFor="training">Training file</label>
              <select id="training" required value={trainingFile} onChange={(e) => setTrainingFile(e.target.value)} data-testid="job-training-file">
                <option value="">Choose a file…</option>
                {fileRows.map((f) => (
                  <option key={f.id} value={f.id}>
                    {f.filename} ({f.examples} examples) — {f.id}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label htmlFor="validation">Validation file (optional)</label>
              <select id="validation" value={validationFile} onChange={(e) => setValidationFile(e.target.value)} data-testid="job-validation-file">
                <option value="">None — hold out part of the training file</option>
                {fileRows
                  .filter((f) => f.id !== trainingFile)
                  .map((f) => (
                    <option key={f.id} value={f.id}>
                      {f.filename} ({f.examples} examples) — {f.id}
                    </option>
                  ))}
              </select>
            </div>
          </div>
          {files.data && fileRows.length === 0 && (
            <p className="hint">
              No files yet — <Link href="/files">upload a JSONL dataset</Link> first.
            </p>
          )}
        </div>

        <div className="card">
          <h2>Hyperparameters</h2>
          <div className="fields">
            <div>
              <label htmlFor="method">Method</label>
              <select id="method" value={method} onChange={(e) => setMethod(e.target.value as 'lora' | 'full')} data-testid="job-method">
                {methods.map((m) => (
                  <option key={m} value={m}>
                    {m === 'lora' ? 'LoRA adapter' : 'Full fine-tune'}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label htmlFor="epochs">Epochs</label>
              <input id="epochs" type="number" min={1} max={50} step={1} placeholder={`default ${defaults.n_epochs}`} value={epochs} onChange={(e) => setEpochs(e.target.value)} data-testid="job-epochs" />
            </div>
            <div>
              <label htmlFor="lr">Learning rate</label>
              <input
                id="lr"
                type="number"
                min={0}
                max={1}
                step="any"
                placeholder={`default ${defaults.learning_rate}`}
                value={learningRate}
                onChange={(e) => setLearningRate(e.target.value)}
                data-testid="job-lr"
              />
            </div>
            <div>
              <label htmlFor="batch">Batch size</label>
              <input id="batch" type="number" min={1} max={256} step={1} placeholder={`default ${defaults.batch_size}`} value={batchSize} onChange={(e) => setBatchSize(e.target.value)} data-testid="job-batch" />
            </div>
            <div>
              <label htmlFor="rank">LoRA rank</label>
              <input
                id="rank"
                type="number"
                min={1}
                max={256}
                step={1}
                placeholder={`default ${defaults.lora_rank}`}
                disabled={method !== 'lora'}
                value={loraRank}
                onChange={(e) => setLoraRank(e.target.value)}
                data-testid="job-rank"
              />
            </div>
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
        </div>

        {error && (
          <div className="alert error" data-testid="job-create-error">
            {error}
          </div>
        )}
        <div className="row">
          <button type="submit" disabled={busy || !trainingFile || !model} data-testid="job-submit">
            {busy ? 'Starting…' : 'Start fine-tuning'}
          </button>
          <Link href="/jobs" className="button secondary">
            Cancel
          </Link>
        </div>
      </form>
    </>
  );
}
