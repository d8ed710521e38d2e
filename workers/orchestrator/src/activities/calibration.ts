/**
 * The calibration text of a job: a bounded, seeded sample of its training split as plain text,
 * on which the device pools compute the importance matrix (llama-imatrix) that the K- and
 * I-quants are quantized with. A uniform sample, so that a file sorted by topic calibrates on
 * all of its topics; the same file and seed always give the same text.
 */
import { createHash } from 'node:crypto';

/** Examples sampled, and characters kept of each: at most about 2 MB of text whatever the file. */
export const CALIBRATION_EXAMPLES = 512;
export const MAX_EXAMPLE_CHARS = 4000;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map((m) => (isObj(m) ? text(m.content ?? m.text) : text(m))).filter(Boolean).join('\n');
  return '';
}

/** Every turn of a chat record; prompt and chosen answer of a preference pair; prompt and completion. */
export function conversationText(line: string): string {
  let rec: unknown;
  try {
    rec = JSON.parse(line);
  } catch {
    return '';
  }
  if (!isObj(rec)) return '';
  const parts = 'messages' in rec ? [text(rec.messages)] : [text(rec.prompt), text(rec.chosen ?? rec.completion)];
  return parts.filter(Boolean).join('\n').slice(0, MAX_EXAMPLE_CHARS);
}

/** Keeps the examples of smallest seeded rank (a uniform sample) and writes them in file order. */
export class CalibrationSample {
  private readonly kept: { r: string; i: number; text: string }[] = [];

  constructor(private readonly seed: number) {}

  add(i: number, line: string): void {
    const r = createHash('sha256').update(`calibration:${this.seed}:${i}:${line}`).digest('hex');
    const k = this.kept;
    if (k.length === CALIBRATION_EXAMPLES && r >= k[k.length - 1].r) return;
    const t = conversationText(line);
    if (!t.trim()) return;
    let at = k.length;
    while (at > 0 && k[at - 1].r > r) at--;
    k.splice(at, 0, { r, i, text: t });
    if (k.length > CALIBRATION_EXAMPLES) k.pop();
  }

  get examples(): number {
    return this.kept.length;
  }

  text(): string {
    return [...this.kept].sort((a, b) => a.i - b.i).map((e) => `${e.text}\n\n`).join('');
  }
}
