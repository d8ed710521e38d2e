import { fmtNum } from '@/lib/format';

export interface Bin {
  lo: number;
  hi: number;
  count: number;
}

/** A bar chart of histogram bins (SVG; no chart library): one bar per bin, counts on hover and above each bar. */
export function Histogram({ bins, unit, testid }: { bins: Bin[]; unit: string; testid: string }) {
  const w = 640;
  const h = 200;
  const pad = { l: 44, r: 8, t: 16, b: 34 };
  const max = Math.max(1, ...bins.map((b) => b.count));
  const bw = bins.length ? (w - pad.l - pad.r) / bins.length : 0;
  const y = (c: number) => pad.t + (h - pad.t - pad.b) * (1 - c / max);
  const label = (b: Bin) => `${fmtNum(b.lo, 0)}–${fmtNum(b.hi, 0)}`;
  // Label every k-th bin so the axis stays legible.
  const every = Math.max(1, Math.ceil(bins.length / 8));
  return (
    <svg viewBox={`0 0 ${w} ${h}`} className="histogram" role="img" aria-label={`Histogram of ${unit} per example`} data-testid={testid} data-bins={bins.length}>
      <line x1={pad.l} y1={h - pad.b} x2={w - pad.r} y2={h - pad.b} className="axis" />
      <line x1={pad.l} y1={pad.t} x2={pad.l} y2={h - pad.b} className="axis" />
      <text x={pad.l - 6} y={pad.t + 4} textAnchor="end" className="tick">
        {fmtNum(max, 0)}
      </text>
      <text x={pad.l - 6} y={h - pad.b} textAnchor="end" className="tick">
        0
      </text>
      {bins.map((b, i) => {
        const x = pad.l + i * bw;
        const top = y(b.count);
        return (
          <g key={i} data-testid="histogram-bar" data-count={b.count}>
            <title>{`${label(b)} ${unit}: ${fmtNum(b.count, 0)} examples`}</title>
            <rect x={x + 1} y={top} width={Math.max(1, bw - 2)} height={h - pad.b - top} className="bar" />
            {b.count > 0 && bins.length <= 24 && (
              <text x={x + bw / 2} y={top - 3} textAnchor="middle" className="count">
                {fmtNum(b.count, 0)}
              </text>
            )}
            {i % every === 0 && (
              <text x={x + bw / 2} y={h - pad.b + 14} textAnchor="middle" className="tick">
                {label(b)}
              </text>
            )}
          </g>
        );
      })}
      <text x={(w + pad.l) / 2} y={h - 4} textAnchor="middle" className="tick">
        {unit} per example
      </text>
    </svg>
  );
}

/** Horizontal bars for named counts (turns per role, label balance), drawn with CSS widths. */
export function CountBars({ items, testid, max: limit = 12 }: { items: [string, number][]; testid: string; max?: number }) {
  const shown = items.slice(0, limit);
  const top = Math.max(1, ...shown.map(([, c]) => c));
  const total = items.reduce((a, [, c]) => a + c, 0);
  return (
    <div className="countbars" data-testid={testid}>
      {shown.map(([name, count]) => (
        <div className="countbar" key={name} data-testid="count-bar" data-name={name} data-count={count}>
          <span className="name" title={name}>
            {name}
          </span>
          <span className="track">
            <span className="fill" style={{ width: `${(count / top) * 100}%` }} />
          </span>
          <span className="n">
            {fmtNum(count, 0)} <span className="muted">({total ? ((count / total) * 100).toFixed(0) : 0} %)</span>
          </span>
        </div>
      ))}
      {items.length > shown.length && <div className="small muted">… and {items.length - shown.length} more</div>}
    </div>
  );
}
