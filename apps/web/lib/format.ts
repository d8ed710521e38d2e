export function fmtBytes(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}

export function fmtDuration(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  const rs = Math.round(s - m * 60);
  if (m < 60) return `${m}m ${rs}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function fmtDate(d: Date | string | number | null | undefined): string {
  if (d == null) return '—';
  const date = d instanceof Date ? d : new Date(d);
  if (Number.isNaN(date.getTime())) return '—';
  return date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function fmtTime(d: Date | string | number | null | undefined): string {
  if (d == null) return '';
  const date = d instanceof Date ? d : new Date(d);
  if (Number.isNaN(date.getTime())) return '';
  return date.toISOString().slice(11, 19);
}

/** `v` when it is a finite number (metrics and event data are untyped JSON), else undefined. */
export function finite(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function fmtNum(v: unknown, digits = 2): string {
  const n = finite(v);
  if (n === undefined) return '—';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function fmtPct(v: unknown): string {
  const n = finite(v);
  if (n === undefined) return '—';
  return `${(n * 100).toFixed(1)}%`;
}

/** A model's parameter count: 1.2B, 350M. */
export function fmtParams(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : `${Math.round(n / 1e6)}M`;
}

/**
 * US cents as dollars: "$12.50". An amount under a cent keeps up to four decimals ("$0.0012"),
 * so metered usage that costs a fraction of a cent does not read as free.
 */
export function fmtUsd(minor: number | null | undefined): string {
  if (minor == null || !Number.isFinite(minor)) return '—';
  const fraction = minor !== 0 && Math.abs(minor) < 1;
  return (minor / 100).toLocaleString('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: fraction ? 4 : 2 });
}

/** An amount in a currency's minor unit (Stripe's convention), in that currency: zero-decimal ones (JPY) are not divided. */
export function fmtMoney(minor: number, currency: string): string {
  const f = new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase() });
  return f.format(minor / 10 ** (f.resolvedOptions().maximumFractionDigits ?? 2));
}
