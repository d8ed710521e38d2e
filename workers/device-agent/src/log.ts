/** Minimal pino-shaped JSON logger: one line per event on stdout (level, time, msg, fields). */
const levels = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
type Level = keyof typeof levels;

const threshold = levels[(process.env.LOG_LEVEL as Level) in levels ? (process.env.LOG_LEVEL as Level) : 'info'];

function errorFields(v: unknown): unknown {
  return v instanceof Error ? { type: v.name, message: v.message, stack: v.stack } : v;
}

function emit(level: Level, fields: Record<string, unknown> | string, msg?: string): void {
  if (levels[level] < threshold) return;
  const rec: Record<string, unknown> = { level: levels[level], time: Date.now(), service: 'device-agent' };
  if (typeof fields === 'string') rec.msg = fields;
  else {
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) rec[k] = errorFields(v);
    rec.msg = msg;
  }
  process.stdout.write(`${JSON.stringify(rec)}\n`);
}

export const log = Object.fromEntries(
  (Object.keys(levels) as Level[]).map((l) => [l, (fields: Record<string, unknown> | string, msg?: string) => emit(l, fields, msg)]),
) as Record<Level, (fields: Record<string, unknown> | string, msg?: string) => void>;
