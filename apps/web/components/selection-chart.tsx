import type { DeviceSelection } from '@edgetune/contracts';
import { fmtBytes, fmtNum, fmtPct } from '@/lib/format';
import type { ModelVersion } from '@/lib/types';

type Variant = ModelVersion['variants'][number];

const W = 560;
const H = 260;
const PAD = { left: 56, right: 20, top: 16, bottom: 44 };

/**
 * One device's candidates as measured: file size across, task accuracy up, decode speed as the
 * area of each point. Filled: on the Pareto front of the candidates meeting every budget;
 * hollow: dominated; crossed: broke a budget; ringed: the selected variant.
 */
export function SelectionChart({ selection, variants }: { selection: DeviceSelection; variants: Variant[] }) {
  const own = variants.filter((v) => v.device === selection.device && (!v.pool || v.pool === selection.pool));
  if (own.length === 0) return null;
  const maxSize = Math.max(...own.map((v) => v.sizeBytes)) * 1.08;
  const accs = own.map((v) => v.metrics.task_accuracy);
  const lo = Math.max(0, Math.min(...accs) - 0.05);
  const hi = Math.min(1, Math.max(...accs) + 0.05);
  const span = hi - lo || 1;
  const maxDecode = Math.max(...own.map((v) => v.metrics.decode_tokens_per_second), 1);
  const x = (size: number) => PAD.left + (size / maxSize) * (W - PAD.left - PAD.right);
  const y = (acc: number) => H - PAD.bottom - ((acc - lo) / span) * (H - PAD.top - PAD.bottom);
  const r = (decode: number) => 4 + 10 * Math.sqrt(Math.max(0, decode) / maxDecode);
  const front = new Set(selection.pareto_front);
  const broke = new Map(selection.rejected.map((x) => [x.quantization, x.broken.map((b) => b.budget).join(', ')]));
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => t * maxSize);
  return (
    <figure className="selection" data-testid="selection-chart" data-device={selection.device} style={{ margin: '12px 0' }}>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" style={{ maxWidth: W }} role="img" aria-label={`Candidates for ${selection.device}: size, task accuracy and decode speed`}>
        <line x1={PAD.left} y1={H - PAD.bottom} x2={W - PAD.right} y2={H - PAD.bottom} stroke="#adb5bd" />
        <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={H - PAD.bottom} stroke="#adb5bd" />
        {ticks.map((t) => (
          <text key={t} x={x(t)} y={H - PAD.bottom + 16} fontSize="11" textAnchor="middle" fill="#6c757d">
            {fmtBytes(t)}
          </text>
        ))}
        {[lo, (lo + hi) / 2, hi].map((a) => (
          <text key={a} x={PAD.left - 6} y={y(a) + 4} fontSize="11" textAnchor="end" fill="#6c757d">
            {fmtPct(a)}
          </text>
        ))}
        <text x={(W + PAD.left) / 2} y={H - 6} fontSize="12" textAnchor="middle" fill="#495057">
          file size → (point area: decode tokens/s)
        </text>
        <text x={14} y={(H - PAD.bottom + PAD.top) / 2} fontSize="12" textAnchor="middle" fill="#495057" transform={`rotate(-90 14 ${(H - PAD.bottom + PAD.top) / 2})`}>
          task accuracy
        </text>
        {own.map((v) => {
          const cx = x(v.sizeBytes);
          const cy = y(v.metrics.task_accuracy);
          const rad = r(v.metrics.decode_tokens_per_second);
          const onFront = front.has(v.quantization);
          const broken = broke.get(v.quantization);
          const q = v.metrics.quality;
          const title =
            `${v.quantization}: ${fmtBytes(v.sizeBytes)}, task accuracy ${fmtPct(v.metrics.task_accuracy)}, decode ${fmtNum(v.metrics.decode_tokens_per_second, 0)} tok/s` +
            (q ? `, KL-divergence from F16 ${q.kl_divergence_mean.toPrecision(2)}` : '') +
            (broken ? ` — broke ${broken}` : onFront ? ' — on the Pareto front' : ' — dominated');
          return (
            <g key={v.id} data-testid="selection-point" data-quant={v.quantization} data-front={onFront ? 'true' : 'false'} data-selected={v.selected ? 'true' : 'false'}>
              <title>{title}</title>
              <circle cx={cx} cy={cy} r={rad} fill={broken ? '#f1f3f5' : onFront ? '#4c6ef5' : '#ffffff'} stroke={broken ? '#adb5bd' : '#4c6ef5'} strokeWidth={1.5} fillOpacity={0.75} />
              {broken && <path d={`M${cx - rad * 0.6} ${cy - rad * 0.6} L${cx + rad * 0.6} ${cy + rad * 0.6} M${cx + rad * 0.6} ${cy - rad * 0.6} L${cx - rad * 0.6} ${cy + rad * 0.6}`} stroke="#868e96" />}
              {v.selected && <circle cx={cx} cy={cy} r={rad + 4} fill="none" stroke="#2f9e44" strokeWidth={2.5} />}
              <text x={cx} y={cy - rad - 5} fontSize="11" textAnchor="middle" fill="#212529">
                {v.quantization}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption className="small" data-testid="selection-reason">
        <strong>{selection.device}</strong>
        {selection.pool ? <span className="muted"> (pool {selection.pool})</span> : null}: selected {selection.reason}
      </figcaption>
      <p className="small muted" data-testid="selection-budgets">
        Budgets: {Object.entries(selection.budgets).map(([k, v]) => `${k} ${k.endsWith('_bytes') ? fmtBytes(v) : fmtNum(v, 4)}`).join(' · ') || 'none'}
      </p>
    </figure>
  );
}
