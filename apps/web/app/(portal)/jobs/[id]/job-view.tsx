'use client';
import Link from 'next/link';
import { useCallback, useEffect, useRef, useState } from 'react';
import { errorMessage, trpc } from '@/lib/trpc';
import { usePoll } from '@/lib/use-poll';
import { finite, fmtBytes, fmtDate, fmtDuration, fmtNum, fmtPct, fmtTime } from '@/lib/format';
import { isTerminal } from '@/lib/jobs';
import type { JobDetail, JobEvent } from '@/lib/types';
import { StatusBadge } from '@/components/status-badge';
import { SelectionChart } from '@/components/selection-chart';
import { VariantsTable } from '@/components/variants-table';
import { LossChart } from '@/components/loss-chart';
import { DatasetFileLink } from '@/components/dataset-file-link';
import { JobCostCard } from './job-cost';

const POLL_MS = 2_000;

/** The job's events, each page fetched after the last event seen; the caller decides when to fetch. */
function useJobEvents(id: string) {
  const [events, setEvents] = useState<JobEvent[]>([]);
  const [error, setError] = useState<string | null>(null);
  const cursor = useRef<string | null>(null);
  const busy = useRef(false);

  const fetchMore = useCallback(async () => {
    if (busy.current) return;
    busy.current = true;
    try {
      for (let guard = 0; guard < 50; guard++) {
        const page = await trpc.jobs.events.query({ id, after: cursor.current, limit: 500 });
        if (page.data.length) {
          cursor.current = page.data[page.data.length - 1].id;
          setEvents((prev) => {
            const seen = new Set(prev.map((e) => e.id));
            return [...prev, ...page.data.filter((e) => !seen.has(e.id))];
          });
        }
        if (!page.hasMore) break;
      }
      setError(null);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      busy.current = false;
    }
  }, [id]);

  return { events, error, fetchMore };
}

function eventText(e: JobEvent): string {
  const d = (e.data ?? {}) as Record<string, unknown>;
  if (e.type === 'metrics') {
    const parts: string[] = [];
    if (finite(d.step) !== undefined) parts.push(`step ${d.step}${finite(d.total_steps) !== undefined ? `/${d.total_steps}` : ''}`);
    const loss = lossOf(d);
    if (loss !== undefined) parts.push(`loss ${loss.toFixed(4)}`);
    if (finite(d.learning_rate) !== undefined) parts.push(`lr ${finite(d.learning_rate)!.toExponential(2)}`);
    if (finite(d.tokens_per_second) !== undefined) parts.push(`${fmtNum(d.tokens_per_second, 0)} tok/s`);
    if (parts.length && !/loss/i.test(e.message)) return `${e.message} — ${parts.join(', ')}`;
  }
  return e.message;
}

/** Training loss of a metrics event (the trainer reports it as train_loss). */
function lossOf(d: Record<string, unknown> | null | undefined): number | undefined {
  return finite(d?.train_loss) ?? finite(d?.loss);
}

function latestMetrics(events: JobEvent[]): Record<string, unknown> | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const d = events[i].data as Record<string, unknown> | null;
    if (d && finite(d.step) !== undefined) return d;
  }
  return null;
}

/** Numbers of one section of the job's result ('evaluation', 'training'), the manifest's as fallback. */
function resultSection(job: JobDetail, section: 'evaluation' | 'training'): [string, number][] {
  const result = (job.result ?? {}) as Record<string, unknown>;
  const manifest = (job.version?.manifest ?? {}) as Record<string, unknown>;
  const obj = (result[section] ?? manifest[section]) as Record<string, unknown> | undefined;
  if (!obj || typeof obj !== 'object') return [];
  return Object.entries(obj).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]));
}

/** The peak memory planned at launch next to the one measured, and whether checkpointing made it fit. */
function MemoryPlan({ job }: { job: JobDetail }) {
  const plan = job.memoryPlan;
  const training = ((job.result ?? {}) as { training?: { hardware?: { peak_memory_bytes?: number; device?: string } } }).training;
  const measured = training?.hardware?.peak_memory_bytes;
  if (!plan) return null;
  return (
    <p className="small muted" data-testid="train-memory">
      Memory: about {fmtBytes(plan.peakBytes)} planned
      {plan.capacityBytes !== null && ` of ${fmtBytes(plan.capacityBytes)} on training pool '${plan.pool}'`}
      {plan.gradientCheckpointing && ', with gradient checkpointing to fit'}
      {measured !== undefined && ` · measured peak ${fmtBytes(measured)}${training?.hardware?.device === 'cuda' ? ' (GPU)' : ' (resident)'}`}
    </p>
  );
}

/** The checkpoints the trainer kept (at most three) with their size and save time. */
function CheckpointsKept({ job }: { job: JobDetail }) {
  const training = ((job.result ?? {}) as { training?: { checkpoints?: { step: number; size_bytes: number | null; save_seconds: number | null }[] } }).training;
  const kept = training?.checkpoints;
  if (!kept?.length) return null;
  return (
    <p className="small muted" data-testid="train-checkpoints">
      Checkpoints kept:{' '}
      {kept
        .map((c) => `step ${c.step}${c.size_bytes !== null ? ` (${fmtBytes(c.size_bytes)}` : ' ('}${c.save_seconds !== null ? `, saved in ${fmtDuration(c.save_seconds * 1000)})` : ')'}`)
        .join(' · ')}
    </p>
  );
}

const evaluationOrder = ['task_accuracy', 'base_task_accuracy', 'reward_accuracy', 'reward_margin', 'token_accuracy', 'loss', 'examples', 'held_out_near_duplicates'];

function fmtMetric(key: string, v: number): string {
  if (/accuracy|rate$/.test(key) && v >= 0 && v <= 1 && !/learning_rate/.test(key)) return fmtPct(v);
  if (/_ms$/.test(key)) return fmtDuration(v);
  if (/_s$/.test(key)) return fmtDuration(v * 1000);
  if (/^(examples|steps|resumed_from_step|held_out_near_duplicates)$/.test(key)) return fmtNum(v, 0);
  if (/per_second$/.test(key)) return fmtNum(v, 0);
  return fmtNum(v, 4);
}

function budgetText(b: object): string {
  return Object.entries(b as Record<string, number | undefined>)
    .filter((e): e is [string, number] => e[1] !== undefined)
    .map(([k, v]) => `${k} ${k.endsWith('_bytes') ? fmtBytes(v) : fmtNum(v, 4)}`)
    .join(' · ');
}

export function JobView({ id }: { id: string }) {
  const { events, error: eventsError, fetchMore } = useJobEvents(id);
  const [done, setDone] = useState(false);
  // One tick asks for the job and its new events together, so httpBatchLink sends one request.
  const job = usePoll(async () => (await Promise.all([trpc.jobs.get.query({ id }), fetchMore()]))[0], done ? null : POLL_MS, [id]);
  const ended = isTerminal(job.data?.status);
  useEffect(() => {
    if (!ended) return;
    setDone(true);
    // The events written while the final status was read come with one last fetch.
    void fetchMore();
  }, [ended, fetchMore]);
  const [confirming, setConfirming] = useState(false);
  const [cancelError, setCancelError] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const eventsBox = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = eventsBox.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [events.length]);

  async function onCancel() {
    setCancelling(true);
    setCancelError(null);
    try {
      await trpc.jobs.cancel.mutate({ id });
      setConfirming(false);
      await job.reload();
    } catch (e) {
      setCancelError(errorMessage(e));
    } finally {
      setCancelling(false);
    }
  }

  if (!job.data) {
    return (
      <>
        <div className="page-head">
          <h1>
            Job <code>{id}</code>
          </h1>
        </div>
        {job.error ? <div className="alert error">{job.error}</div> : <div className="empty">Loading…</div>}
      </>
    );
  }

  const j = job.data;
  const hp = j.hyperparameters as Record<string, unknown>;
  const m = latestMetrics(events);
  const lossPoints = events
    .map((e) => e.data as Record<string, unknown> | null)
    .filter((d): d is Record<string, unknown> => !!d && finite(d.step) !== undefined && lossOf(d) !== undefined)
    .map((d) => ({ step: d.step as number, loss: lossOf(d)! }));
  const evaluation = resultSection(j, 'evaluation').sort((a, b) => {
    const ia = evaluationOrder.indexOf(a[0]);
    const ib = evaluationOrder.indexOf(b[0]);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  });
  const training = resultSection(j, 'training');
  const elapsed = j.startedAt ? (j.finishedAt ? new Date(j.finishedAt).getTime() : Date.now()) - new Date(j.startedAt).getTime() : null;
  const stages = [...j.stages].sort((a, b) => new Date(a.startedAt).getTime() - new Date(b.startedAt).getTime());

  return (
    <>
      <div className="page-head">
        <div className="row">
          <h1>
            <code data-testid="job-id">{j.id}</code>
          </h1>
          <StatusBadge status={j.status} testid="job-status" />
        </div>
        {!isTerminal(j.status) &&
          (confirming ? (
            <div className="row" data-testid="job-cancel-confirm-box">
              <span>Cancel this job? Training stops and its pool is released.</span>
              <button type="button" className="danger" disabled={cancelling} onClick={() => void onCancel()} data-testid="job-cancel-confirm">
                {cancelling ? 'Cancelling…' : 'Yes, cancel job'}
              </button>
              <button type="button" className="secondary" onClick={() => setConfirming(false)}>
                Keep running
              </button>
            </div>
          ) : (
            <button type="button" className="secondary" onClick={() => setConfirming(true)} data-testid="job-cancel">
              Cancel job
            </button>
          ))}
      </div>
      {cancelError && <div className="alert error">{cancelError}</div>}
      {job.error && <div className="alert error">Refreshing failed: {job.error}</div>}
      {j.error && (
        <div className="alert error" data-testid="job-error">
          <strong>{j.error.code}</strong>: {j.error.message}
        </div>
      )}

      <div className="grid2">
        <div className="card">
          <h2>Job</h2>
          <dl className="kv">
            <dt>Base model</dt>
            <dd>{j.baseModel}</dd>
            <dt>Training file</dt>
            <dd>
              <DatasetFileLink fileId={j.trainingFileId} testid="job-training-data" />
            </dd>
            <dt>Validation file</dt>
            <dd>{j.validationFileId ? <DatasetFileLink fileId={j.validationFileId} /> : <span className="muted">held out from training</span>}</dd>
            <dt>Hyperparameters</dt>
            <dd data-testid="job-hyperparameters">
              {String(hp.method ?? '')} · {String(hp.n_epochs ?? '')} epochs · lr {String(hp.learning_rate ?? '')} · batch {String(hp.batch_size ?? '')}
              {hp.method === 'lora' ? ` · rank ${String(hp.lora_rank ?? '')}` : ''}
              {hp.objective === 'dpo' ? ` · DPO, beta ${String(hp.beta ?? '')}` : ''}
            </dd>
            <dt>Target devices</dt>
            <dd data-testid="job-target-devices">{j.targetDevices.join(', ')}</dd>
            <dt>Quantizations</dt>
            <dd data-testid="job-quantizations">{j.quantizations ? j.quantizations.join(', ') : 'every candidate of each device'}</dd>
            <dt>Budgets</dt>
            <dd data-testid="job-budgets">
              {j.budgets ? (
                <>
                  {j.budgets.all ? budgetText(j.budgets.all) : "each device profile's defaults"}
                  {Object.entries(j.budgets.targets ?? {}).map(([d, b]) => (
                    <div key={d} className="small">
                      {d}: {budgetText(b)}
                    </div>
                  ))}
                </>
              ) : (
                "each device profile's size and memory defaults"
              )}
            </dd>
            <dt>Fine-tuned model</dt>
            <dd>{j.fineTunedModel ? <code data-testid="job-fine-tuned-model">{j.fineTunedModel}</code> : <span className="muted">—</span>}</dd>
            <dt>Created</dt>
            <dd>{fmtDate(j.createdAt)}</dd>
            <dt>Elapsed</dt>
            <dd>{fmtDuration(elapsed)}</dd>
            {j.trainedTokens != null && (
              <>
                <dt>Trained tokens</dt>
                <dd>{fmtNum(j.trainedTokens, 0)}</dd>
              </>
            )}
          </dl>
        </div>
        <div className="card">
          <h2>Training</h2>
          <div className="stats" data-testid="train-progress">
            <div className="stat">
              <div className="label">Step</div>
              <div className="value">{m ? `${String(m.step)}${finite(m.total_steps) !== undefined ? ` / ${String(m.total_steps)}` : ''}` : '—'}</div>
            </div>
            <div className="stat">
              <div className="label">Loss</div>
              <div className="value" data-testid="train-loss">
                {m && lossOf(m) !== undefined ? lossOf(m)!.toFixed(4) : '—'}
              </div>
            </div>
            <div className="stat">
              <div className="label">Tokens / s</div>
              <div className="value">{m ? fmtNum(m.tokens_per_second, 0) : '—'}</div>
            </div>
          </div>
          {finite(m?.step) !== undefined && finite(m?.total_steps) !== undefined && (
            <div className="progress">
              <div style={{ width: `${Math.min(100, (100 * (m!.step as number)) / (m!.total_steps as number))}%` }} />
            </div>
          )}
          <LossChart points={lossPoints} />
          {training.length > 0 && (
            <p className="small muted" data-testid="train-summary">
              {training.map(([k, v]) => `${k.replace(/_/g, ' ')} ${fmtMetric(k, v)}`).join(' · ')}
            </p>
          )}
          <CheckpointsKept job={j} />
          <MemoryPlan job={j} />
        </div>
      </div>

      <div className="card">
        <h2>Events {!done && <span className="small muted">(live)</span>}</h2>
        {eventsError && <div className="alert error">{eventsError}</div>}
        <div className="events" ref={eventsBox} data-testid="job-events">
          {events.length === 0 && <div className="ev muted">Waiting for the first event…</div>}
          {events.map((e) => (
            <div key={e.id} className={`ev ${e.level}`} data-testid="job-event" data-type={e.type}>
              <span className="t">{fmtTime(e.createdAt)}</span>
              {eventText(e)}
            </div>
          ))}
        </div>
      </div>

      <div className="card">
        <h2>Stages</h2>
        <div className="table-wrap">
          <table data-testid="stages-table">
            <thead>
              <tr>
                <th>Stage</th>
                <th>Device</th>
                <th>Quantization</th>
                <th>State</th>
                <th>Started</th>
                <th className="num">Duration</th>
              </tr>
            </thead>
            <tbody>
              {stages.map((s) => (
                <tr
                  key={`${s.stage}|${s.device ?? ''}|${s.variant ?? ''}`}
                  data-testid="stage-row"
                  data-stage={s.stage}
                  data-device={s.device ?? ''}
                  data-variant={s.variant ?? ''}
                  data-state={s.state}
                >
                  <td>{s.stage}</td>
                  <td>{s.device ?? <span className="muted">—</span>}</td>
                  <td>{s.variant ? <code>{s.variant}</code> : <span className="muted">—</span>}</td>
                  <td>
                    <StatusBadge status={s.state} />
                  </td>
                  <td>{fmtTime(s.startedAt)}</td>
                  <td className="num" data-testid="stage-duration">
                    {fmtDuration(s.durationMs)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {stages.length === 0 && <div className="empty">No stage has started yet.</div>}
        </div>
      </div>

      <JobCostCard id={j.id} status={j.status} />

      {evaluation.length > 0 && (
        <div className="card" data-testid="eval-metrics">
          <h2>Evaluation</h2>
          <div className="stats">
            {evaluation.map(([k, v]) => (
              <div className="stat" key={k} data-testid="eval-metric" data-metric={k}>
                <div className="label">{k.replace(/_/g, ' ')}</div>
                <div className="value">{fmtMetric(k, v)}</div>
              </div>
            ))}
          </div>
        </div>
      )}

      {j.version && (
        <div className="card" data-testid="published-version">
          <div className="page-head">
            <h2 style={{ margin: 0 }}>
              Published: <Link href={`/models/${encodeURIComponent(j.version.name)}`}>{j.version.name}</Link>{' '}
              <span className="muted">v{j.version.version}</span>
            </h2>
            <span className="small muted">{fmtDate(j.version.createdAt)}</span>
          </div>
          <p className="muted">
            Every number below was measured on a hardware pool of that device kind. The <span className="badge selected">selected</span> variant per device
            is the one the fleet manifest points devices at.
          </p>
          <VariantsTable version={j.version} />
          {(j.version.manifest.selection ?? []).map((s) => (
            <SelectionChart key={`${s.device}|${s.pool}`} selection={s} variants={j.version!.variants} />
          ))}
        </div>
      )}
    </>
  );
}
