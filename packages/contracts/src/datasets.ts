import { z } from 'zod';
import type { ErrorDetail } from './errors';

/**
 * Dataset record formats (one JSON object per line of a JSONL file, or one CSV/Parquet row mapped
 * to the same fields). The zod schemas document the formats and type them; the hand-written
 * `check*` functions below are what validation runs per record, because they name the exact field
 * and run in the hot loop of multi-gigabyte uploads (zod would allocate per record).
 */
export const datasetFormats = ['chat', 'prompt_completion', 'preference'] as const;
export type DatasetFormat = (typeof datasetFormats)[number];

/** OpenAI chat fine-tuning format: `messages`, optional `tools`, per-message `weight`. */
export const chatRoles = ['system', 'user', 'assistant', 'tool'] as const;
export type ChatRole = (typeof chatRoles)[number];

export const toolCallSchema = z.object({
  id: z.string().min(1),
  type: z.literal('function'),
  function: z.object({
    name: z.string().min(1),
    /** JSON-encoded arguments, as OpenAI sends them. */
    arguments: z.string(),
  }),
});

export const toolSchema = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string().min(1),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});

export const chatMessageSchema = z.object({
  role: z.enum(chatRoles),
  /** null only on an assistant message that carries tool_calls. */
  content: z.string().nullable(),
  name: z.string().optional(),
  tool_calls: z.array(toolCallSchema).optional(),
  tool_call_id: z.string().optional(),
  /** 0 leaves this assistant turn out of the loss. */
  weight: z.union([z.literal(0), z.literal(1)]).optional(),
});

export const chatRecordSchema = z.object({
  messages: z.array(chatMessageSchema).min(1),
  tools: z.array(toolSchema).optional(),
  parallel_tool_calls: z.boolean().optional(),
});

export const promptCompletionRecordSchema = z.object({
  prompt: z.string().min(1),
  completion: z.string().min(1),
});

/** A side of a preference pair: plain text, or messages (prompt: a conversation; chosen/rejected: assistant turns). */
const preferenceSide = z.union([z.string().min(1), z.array(chatMessageSchema).min(1)]);
export const preferenceRecordSchema = z.object({
  prompt: preferenceSide,
  chosen: preferenceSide,
  rejected: preferenceSide,
});

export type ToolCall = z.infer<typeof toolCallSchema>;
export type ChatMessage = z.infer<typeof chatMessageSchema>;
export type ChatRecord = z.infer<typeof chatRecordSchema>;
export type PromptCompletionRecord = z.infer<typeof promptCompletionRecordSchema>;
export type PreferenceRecord = z.infer<typeof preferenceRecordSchema>;

export const filePurposes = ['fine-tune'] as const;
export type FilePurpose = (typeof filePurposes)[number];

/** Where an error is: `Line 7` in a JSONL file, `Row 7` in a CSV/Parquet file. */
export type RecordUnit = 'Line' | 'Row';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const roleSet = new Set<string>(chatRoles);

/** The format a record is written in, judged by its keys; null when it fits none. */
export function detectRecordFormat(rec: unknown): DatasetFormat | null {
  if (!isObj(rec)) return null;
  if ('messages' in rec) return 'chat';
  if ('chosen' in rec || 'rejected' in rec) return 'preference';
  if ('prompt' in rec && 'completion' in rec) return 'prompt_completion';
  return null;
}

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`);

/**
 * Checks a `messages` array (chat record, or a preference side). Appends problems to `errors` and
 * returns how many assistant messages carry loss. `path` is the field path of the array.
 */
function checkMessages(msgs: unknown[], path: string, at: string, line: number, errors: ErrorDetail[], tools: Set<string> | null, assistantOnly: boolean): number {
  let learnable = 0;
  let pendingCalls: Set<string> | null = null;
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i];
    const f = `${path}[${i}]`;
    if (!isObj(m)) {
      errors.push({ line, field: f, message: `${at}: ${f} must be an object with "role" and "content"; got ${describe(m)}.` });
      continue;
    }
    const role = m.role;
    if (typeof role !== 'string' || !roleSet.has(role)) {
      errors.push({ line, field: `${f}.role`, message: `${at}: ${f}.role must be one of ${chatRoles.join(', ')}; got ${JSON.stringify(role) ?? 'nothing'}.` });
      continue;
    }
    if (assistantOnly && role !== 'assistant') {
      errors.push({ line, field: `${f}.role`, message: `${at}: ${f}.role must be "assistant" (a preference answer); got "${role}".` });
    }
    const content = m.content;
    const calls = m.tool_calls;
    if (calls !== undefined) {
      if (role !== 'assistant') {
        errors.push({ line, field: `${f}.tool_calls`, message: `${at}: ${f}.tool_calls is only allowed on assistant messages.` });
      } else if (!Array.isArray(calls) || calls.length === 0) {
        errors.push({ line, field: `${f}.tool_calls`, message: `${at}: ${f}.tool_calls must be a non-empty array.` });
      } else {
        pendingCalls ??= new Set();
        for (let j = 0; j < calls.length; j++) {
          const c = calls[j];
          const cf = `${f}.tool_calls[${j}]`;
          if (!isObj(c)) {
            errors.push({ line, field: cf, message: `${at}: ${cf} must be an object {id, type: "function", function: {name, arguments}}.` });
            continue;
          }
          if (typeof c.id !== 'string' || c.id === '') errors.push({ line, field: `${cf}.id`, message: `${at}: ${cf}.id must be a non-empty string.` });
          else pendingCalls.add(c.id);
          if (c.type !== 'function') errors.push({ line, field: `${cf}.type`, message: `${at}: ${cf}.type must be "function"; got ${JSON.stringify(c.type) ?? 'nothing'}.` });
          const fn = c.function;
          if (!isObj(fn)) {
            errors.push({ line, field: `${cf}.function`, message: `${at}: ${cf}.function must be an object {name, arguments}.` });
            continue;
          }
          if (typeof fn.name !== 'string' || fn.name === '') errors.push({ line, field: `${cf}.function.name`, message: `${at}: ${cf}.function.name must be a non-empty string.` });
          else if (tools && !tools.has(fn.name)) errors.push({ line, field: `${cf}.function.name`, message: `${at}: ${cf}.function.name "${fn.name}" is not declared in "tools".` });
          if (typeof fn.arguments !== 'string') {
            errors.push({ line, field: `${cf}.function.arguments`, message: `${at}: ${cf}.function.arguments must be a JSON-encoded string; got ${describe(fn.arguments)}.` });
          } else {
            try {
              JSON.parse(fn.arguments);
            } catch {
              errors.push({ line, field: `${cf}.function.arguments`, message: `${at}: ${cf}.function.arguments is not valid JSON.` });
            }
          }
        }
      }
    }
    const hasCalls = role === 'assistant' && Array.isArray(calls) && calls.length > 0;
    if (content === null || content === undefined) {
      if (!hasCalls) errors.push({ line, field: `${f}.content`, message: `${at}: ${f}.content is missing; it must be a string.` });
    } else if (typeof content !== 'string') {
      errors.push({ line, field: `${f}.content`, message: `${at}: ${f}.content must be a string; got ${describe(content)}.` });
    } else if (!hasCalls && role !== 'tool' && content.trim() === '') {
      errors.push({ line, field: `${f}.content`, message: `${at}: ${f}.content is empty.` });
    }
    if (role === 'tool') {
      const id = m.tool_call_id;
      if (typeof id !== 'string' || id === '') {
        errors.push({ line, field: `${f}.tool_call_id`, message: `${at}: ${f}.tool_call_id must name the assistant tool call this message answers.` });
      } else if (!pendingCalls?.has(id)) {
        errors.push({ line, field: `${f}.tool_call_id`, message: `${at}: ${f}.tool_call_id "${id}" does not match any earlier assistant tool call.` });
      }
    }
    const w = m.weight;
    if (w !== undefined) {
      if (w !== 0 && w !== 1) errors.push({ line, field: `${f}.weight`, message: `${at}: ${f}.weight must be 0 or 1; got ${JSON.stringify(w)}.` });
      else if (role !== 'assistant') errors.push({ line, field: `${f}.weight`, message: `${at}: ${f}.weight is only allowed on assistant messages.` });
    }
    if (m.name !== undefined && typeof m.name !== 'string') errors.push({ line, field: `${f}.name`, message: `${at}: ${f}.name must be a string.` });
    if (role === 'assistant' && w !== 0) learnable++;
  }
  return learnable;
}

function checkTools(tools: unknown, at: string, line: number, errors: ErrorDetail[]): Set<string> | null {
  if (tools === undefined) return null;
  if (!Array.isArray(tools)) {
    errors.push({ line, field: 'tools', message: `${at}: "tools" must be an array of {type: "function", function: {name, parameters}}.` });
    return null;
  }
  const names = new Set<string>();
  for (let i = 0; i < tools.length; i++) {
    const t = tools[i];
    const f = `tools[${i}]`;
    if (!isObj(t) || t.type !== 'function' || !isObj(t.function)) {
      errors.push({ line, field: f, message: `${at}: ${f} must be {type: "function", function: {name, description?, parameters?}}.` });
      continue;
    }
    const fn = t.function;
    if (typeof fn.name !== 'string' || fn.name === '') errors.push({ line, field: `${f}.function.name`, message: `${at}: ${f}.function.name must be a non-empty string.` });
    else names.add(fn.name);
    if (fn.parameters !== undefined && !isObj(fn.parameters)) errors.push({ line, field: `${f}.function.parameters`, message: `${at}: ${f}.function.parameters must be a JSON Schema object.` });
  }
  return names;
}

/** Validates a parsed chat record; appends errors (with `line` and `field`) to `errors`. */
export function checkChatRecord(rec: unknown, line: number, errors: ErrorDetail[], unit: RecordUnit = 'Line'): void {
  const at = `${unit} ${line}`;
  if (!isObj(rec)) {
    errors.push({ line, message: `${at}: expected a JSON object with a "messages" array; got ${describe(rec)}.` });
    return;
  }
  const messages = rec.messages;
  if (!Array.isArray(messages)) {
    errors.push({ line, field: 'messages', message: `${at}: missing "messages" array.` });
    return;
  }
  if (messages.length === 0) {
    errors.push({ line, field: 'messages', message: `${at}: "messages" is empty.` });
    return;
  }
  const before = errors.length;
  const tools = checkTools(rec.tools, at, line, errors);
  const learnable = checkMessages(messages, 'messages', at, line, errors, tools, false);
  if (errors.length > before) return;
  if (!messages.some((m) => (m as Obj).role === 'assistant')) {
    errors.push({ line, field: 'messages', message: `${at}: the conversation has no assistant message to learn from.` });
  } else if (learnable === 0) {
    errors.push({ line, field: 'messages', message: `${at}: every assistant message has weight 0, so there is nothing to learn from.` });
  } else if ((messages[messages.length - 1] as Obj).role !== 'assistant') {
    errors.push({ line, field: `messages[${messages.length - 1}]`, message: `${at}: the last message must be from the assistant.` });
  }
}

export function checkPromptCompletionRecord(rec: unknown, line: number, errors: ErrorDetail[], unit: RecordUnit = 'Line'): void {
  const at = `${unit} ${line}`;
  if (!isObj(rec)) {
    errors.push({ line, message: `${at}: expected a JSON object with "prompt" and "completion"; got ${describe(rec)}.` });
    return;
  }
  for (const k of ['prompt', 'completion'] as const) {
    const v = rec[k];
    if (v === undefined) errors.push({ line, field: k, message: `${at}: missing "${k}".` });
    else if (typeof v !== 'string') errors.push({ line, field: k, message: `${at}: "${k}" must be a string; got ${describe(v)}.` });
    else if (v.trim() === '') errors.push({ line, field: k, message: `${at}: "${k}" is empty.` });
  }
}

export function checkPreferenceRecord(rec: unknown, line: number, errors: ErrorDetail[], unit: RecordUnit = 'Line'): void {
  const at = `${unit} ${line}`;
  if (!isObj(rec)) {
    errors.push({ line, message: `${at}: expected a JSON object with "prompt", "chosen" and "rejected"; got ${describe(rec)}.` });
    return;
  }
  const before = errors.length;
  for (const k of ['prompt', 'chosen', 'rejected'] as const) {
    const v = rec[k];
    if (v === undefined) errors.push({ line, field: k, message: `${at}: missing "${k}".` });
    else if (typeof v === 'string') {
      if (v.trim() === '') errors.push({ line, field: k, message: `${at}: "${k}" is empty.` });
    } else if (Array.isArray(v)) {
      if (v.length === 0) errors.push({ line, field: k, message: `${at}: "${k}" is an empty array.` });
      else checkMessages(v, k, at, line, errors, null, k !== 'prompt');
    } else errors.push({ line, field: k, message: `${at}: "${k}" must be a string or an array of messages; got ${describe(v)}.` });
  }
  if (errors.length === before && JSON.stringify(rec.chosen) === JSON.stringify(rec.rejected)) {
    errors.push({ line, field: 'rejected', message: `${at}: "chosen" and "rejected" are identical, so the pair teaches nothing.` });
  }
}

export const recordCheckers: Record<DatasetFormat, (rec: unknown, line: number, errors: ErrorDetail[], unit?: RecordUnit) => void> = {
  chat: checkChatRecord,
  prompt_completion: checkPromptCompletionRecord,
  preference: checkPreferenceRecord,
};

/**
 * A preference pair as the chat record of its preferred answer: the prompt's turns (a string is
 * one user turn) followed by the chosen answer. What "task accuracy" of a DPO job is measured on —
 * producing the preferred answer — by the trainer's evaluation and by the device benchmarks.
 */
export function preferenceAsChat(rec: PreferenceRecord): ChatRecord {
  const side = (v: PreferenceRecord['prompt'], role: ChatMessage['role']): ChatMessage[] => (typeof v === 'string' ? [{ role, content: v }] : v);
  return { messages: [...side(rec.prompt, 'user'), ...side(rec.chosen, 'assistant')] };
}

/** Validates one line of a chat JSONL file; `line` is 1-based. Returns the record or the reasons. */
export function validateChatLine(text: string, line: number): { record: ChatRecord | null; errors: ErrorDetail[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { record: null, errors: [{ line, message: `Line ${line}: invalid JSON (${(e as Error).message}).` }] };
  }
  const errors: ErrorDetail[] = [];
  checkChatRecord(parsed, line, errors);
  if (errors.length) return { record: null, errors };
  return { record: parsed as ChatRecord, errors: [] };
}
