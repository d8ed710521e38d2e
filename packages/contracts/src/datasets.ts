import { z } from 'zod';
import type { ErrorDetail } from './errors';

/** OpenAI chat fine-tuning format: one JSON object per line with a `messages` array. */
export const chatRoles = ['system', 'user', 'assistant'] as const;

export const chatMessageSchema = z.object({
  role: z.enum(chatRoles),
  content: z.string(),
  weight: z.union([z.literal(0), z.literal(1)]).optional(),
});

export const chatRecordSchema = z.object({
  messages: z.array(chatMessageSchema).min(1),
});

export type ChatMessage = z.infer<typeof chatMessageSchema>;
export type ChatRecord = z.infer<typeof chatRecordSchema>;

export const filePurposes = ['fine-tune'] as const;
export type FilePurpose = (typeof filePurposes)[number];

/** Validates one line of a chat JSONL file; `line` is 1-based. Returns the record or the reasons. */
export function validateChatLine(text: string, line: number): { record: ChatRecord | null; errors: ErrorDetail[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { record: null, errors: [{ line, message: `Line ${line}: invalid JSON (${(e as Error).message}).` }] };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { record: null, errors: [{ line, message: `Line ${line}: expected a JSON object with a "messages" array.` }] };
  }
  const messages = (parsed as { messages?: unknown }).messages;
  if (!Array.isArray(messages)) {
    return { record: null, errors: [{ line, field: 'messages', message: `Line ${line}: missing "messages" array.` }] };
  }
  const errors: ErrorDetail[] = [];
  if (messages.length === 0) errors.push({ line, field: 'messages', message: `Line ${line}: "messages" is empty.` });
  messages.forEach((m, i) => {
    const field = `messages[${i}]`;
    if (m === null || typeof m !== 'object' || Array.isArray(m)) {
      errors.push({ line, field, message: `Line ${line}: ${field} must be an object with "role" and "content".` });
      return;
    }
    const { role, content, weight } = m as Record<string, unknown>;
    if (typeof role !== 'string' || !(chatRoles as readonly string[]).includes(role)) {
      errors.push({ line, field: `${field}.role`, message: `Line ${line}: ${field}.role must be one of ${chatRoles.join(', ')}; got ${JSON.stringify(role)}.` });
    }
    if (typeof content !== 'string') {
      errors.push({ line, field: `${field}.content`, message: `Line ${line}: ${field}.content must be a string.` });
    } else if (content.trim() === '') {
      errors.push({ line, field: `${field}.content`, message: `Line ${line}: ${field}.content is empty.` });
    }
    if (weight !== undefined && weight !== 0 && weight !== 1) {
      errors.push({ line, field: `${field}.weight`, message: `Line ${line}: ${field}.weight must be 0 or 1.` });
    }
  });
  if (errors.length === 0 && !messages.some((m) => (m as { role: string }).role === 'assistant')) {
    errors.push({ line, field: 'messages', message: `Line ${line}: the conversation has no assistant message to learn from.` });
  }
  if (errors.length === 0 && (messages[messages.length - 1] as { role: string }).role !== 'assistant') {
    errors.push({ line, field: 'messages', message: `Line ${line}: the last message must be from the assistant.` });
  }
  if (errors.length) return { record: null, errors };
  return { record: chatRecordSchema.parse(parsed), errors: [] };
}
