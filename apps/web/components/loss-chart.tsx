/** A small inline SVG of training loss by step. */
export function LossChart({ points: raw }: { points: { step: number; loss: number }[] }) {
  // Live events arrive sparsely and the full log is backfilled after training: order by step.
  const byStep = new Map(raw.map((p) => [p.step, p]));
  const points = [...byStep.values()].sort((a, b) => a.step - b.step);
  if (points.length < 2) return null;
  const w = 520;
  const h = 120;
  const pad = 24;
  const xs = points.map((p) => p.step);
  const ys = points.map((p) => p.loss);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const y0 = Math.min(...ys);
  const y1 = Math.max(...ys);
  const sx = (x: number) => pad + ((x - x0) / (x1 - x0 || 1)) * (w - 2 * pad);
  const sy = (y: number) => h - pad - ((y - y0) / (y1 - y0 || 1)) * (h - 2 * pad);
  const d = points.map((p, i) => `${i ? 'L' : 'M'}${sx(p.step).toFixed(1)},${sy(p.loss).toFixed(1)}`).join(' ');
  return (
    <svg viewBox={`0 0 ${w} ${h}`} width="100%" height={h} role="img" aria-label="training loss" data-testid="loss-chart">
      <line x1={pad} y1={h - pad} x2={w - pad} y2={h - pad} stroke="#dde1e6" />
      <line x1={pad} y1={pad} x2={pad} y2={h - pad} stroke="#dde1e6" />
      <path d={d} fill="none" stroke="#3b5bdb" strokeWidth={2} />
      <text x={pad + 4} y={pad - 8} fontSize={10} fill="#5b6572">
        loss {y1.toFixed(3)}
      </text>
      <text x={pad + 4} y={h - pad - 4} fontSize={10} fill="#5b6572">
        {y0.toFixed(3)}
      </text>
      <text x={w - pad} y={h - 6} fontSize={10} fill="#5b6572" textAnchor="end">
        step {x1}
      </text>
    </svg>
  );
}
