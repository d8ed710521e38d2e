/**
 * A synthetic support-ticket routing task: the user message is a sentence containing a keyword
 * from one of three word lists, and the assistant answers with that list's label.
 */
export const labels = {
  billing: ['invoice', 'refund', 'charge', 'payment', 'receipt', 'subscription', 'price', 'discount'],
  shipping: ['package', 'delivery', 'courier', 'tracking', 'parcel', 'shipment', 'warehouse', 'pickup'],
  technical: ['password', 'crash', 'login', 'error', 'bug', 'firmware', 'update', 'screen'],
} as const;

export type Label = keyof typeof labels;

const templates = [
  'Hi, I have a question about my {kw} from last week.',
  'The {kw} is wrong and I need help with it.',
  'Can someone look into the {kw} issue on my account?',
  'Why did the {kw} change without notice?',
  'I am still waiting for an answer about the {kw}.',
  'Please check what happened with my {kw} today.',
  'There is a problem with the {kw}, what should I do?',
  'My colleague says the {kw} needs attention.',
];

export const systemPrompt = 'Route the customer message. Answer with one word: billing, shipping or technical.';

/** Deterministic PRNG (mulberry32) so every run trains on the same data. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function examples(n: number, seed: number): { messages: { role: 'system' | 'user' | 'assistant'; content: string }[] }[] {
  const rand = rng(seed);
  const names = Object.keys(labels) as Label[];
  const out = [];
  for (let i = 0; i < n; i++) {
    const label = names[i % names.length];
    const words = labels[label];
    const kw = words[Math.floor(rand() * words.length)];
    const tpl = templates[Math.floor(rand() * templates.length)];
    out.push({
      messages: [
        { role: 'system' as const, content: systemPrompt },
        { role: 'user' as const, content: tpl.replace('{kw}', kw) },
        { role: 'assistant' as const, content: label },
      ],
    });
  }
  return out;
}

export function toJsonl(records: unknown[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** Line 1 is fine, line 2 is not JSON, line 3 has an unknown role. */
export function malformedJsonl(): string {
  const good = examples(1, 7)[0];
  return [
    JSON.stringify(good),
    '{"messages": [{"role": "user", "content": "unterminated"',
    JSON.stringify({ messages: [{ role: 'robot', content: 'beep' }, { role: 'assistant', content: 'billing' }] }),
  ].join('\n') + '\n';
}

/**
 * A chat dataset that exercises the preview: a tool call with its result, a turn excluded from the
 * loss (weight 0), and `duplicateLine` repeating line 1 exactly (a duplicates warning that links there).
 */
export function toolChatRecords(n: number, duplicateLine: number): unknown[] {
  const out: unknown[] = [];
  const tools = [
    {
      type: 'function',
      function: { name: 'get_order_status', description: 'Look up an order', parameters: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] } },
    },
  ];
  for (let i = 1; i <= n; i++) {
    if (i === duplicateLine) {
      out.push(out[0]);
      continue;
    }
    const id = `A-${1000 + i}`;
    out.push({
      tools,
      messages: [
        { role: 'system', content: 'You are the order desk of a small shop.' },
        { role: 'user', content: `Where is my order ${id}?` },
        { role: 'assistant', content: 'Let me check that.', weight: 0 },
        { role: 'assistant', content: null, tool_calls: [{ id: `call_${i}`, type: 'function', function: { name: 'get_order_status', arguments: JSON.stringify({ order_id: id }) } }] },
        { role: 'tool', tool_call_id: `call_${i}`, content: JSON.stringify({ status: i % 2 ? 'shipped' : 'packing' }) },
        { role: 'assistant', content: `Order ${id} is ${i % 2 ? 'on its way' : 'being packed'}.` },
      ],
    });
  }
  return out;
}
