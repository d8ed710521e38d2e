/** Eval split parsing and scoring, shared by the benchmark child and the tests. */

export interface ChatMessage {
  role: string;
  content: string;
}

/** Same as the trainer's `text.strip().casefold()` (exact match after trim + casefold). */
export function normalizeAnswer(s: string): string {
  return s.trim().toLowerCase().replace(/ß/g, 'ss');
}

export function parseEvalJsonl(text: string): { prompt: ChatMessage[]; reference: string }[] {
  const out: { prompt: ChatMessage[]; reference: string }[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let rec: { messages?: ChatMessage[] };
    try {
      rec = JSON.parse(line);
    } catch {
      throw new Error(`eval line ${i + 1}: not JSON`);
    }
    const msgs = rec.messages;
    if (!Array.isArray(msgs) || msgs.length < 2 || msgs[msgs.length - 1]?.role !== 'assistant') {
      throw new Error(`eval line ${i + 1}: expected {"messages":[...]} ending with an assistant turn`);
    }
    out.push({ prompt: msgs.slice(0, -1), reference: String(msgs[msgs.length - 1]!.content) });
  });
  return out;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

