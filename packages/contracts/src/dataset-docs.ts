import { chatRoles, type DatasetFormat } from './datasets';

/**
 * The dataset formats guide, as data: the portal renders it at /docs/datasets, and
 * packages/datasets/src/docs-examples.test.ts runs every example (and every refused example)
 * through the real validator, so what is documented here cannot drift from what is accepted.
 * Field tables restate the checks in datasets.ts (check*Record) and datasets/{ingest,tabular,source}.ts.
 */

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Limits the guide quotes; the docs test compares each with the constant the code uses. */
export const datasetDocLimits = {
  /** Longest JSONL line (@edgetune/datasets DEFAULT_MAX_LINE_BYTES). */
  maxLineBytes: 8 * MiB,
  /** Longest CSV record, all its cells (@edgetune/datasets MAX_CSV_RECORD_BYTES). */
  maxCsvRecordBytes: 16 * MiB,
  /** Largest uncompressed Parquet row group (@edgetune/datasets MAX_ROW_GROUP_BYTES). */
  maxParquetRowGroupBytes: 256 * MiB,
  /** Errors listed in a refusal (@edgetune/datasets MAX_REPORTED_ERRORS); the total is always given. */
  maxReportedErrors: 20,
  /** Decompression-bomb guard: expansion ratio refused once past 64 MiB decompressed (@edgetune/datasets DEFAULT_MAX_RATIO). */
  maxDecompressionRatio: 1000,
  /** Config MAX_UPLOAD_BYTES default. */
  defaultMaxUploadBytes: 8 * GiB,
  /** Config MAX_DECOMPRESSED_BYTES default. */
  defaultMaxDecompressedBytes: 32 * GiB,
  /** Resumable uploads: chunk size the server suggests, and the largest chunk it takes (contracts uploads.ts, enforced in api datasets/uploads.ts). */
  uploadChunkBytes: 8 * MiB,
  maxChunkBytes: 256 * MiB,
  /** Resumable uploads expire this long after their last activity. */
  uploadTtlHours: 24,
  /** Warnings: an example with fewer characters than this is flagged as very short (api MIN_EXAMPLE_CHARS). */
  minExampleChars: 20,
} as const;

export interface DocTable {
  head: [string, string, string, string];
  rows: [string, string, string, string][];
}

/** A small file that is refused, and the field (or request parameter) the error names. */
export interface DocRefusal {
  why: string;
  content: string;
  /** `details[0].field` of the error; null when the error is about the whole file or the mapping. */
  field: string | null;
  /** `param` of the error when it is not 'file' (e.g. 'columns' for a bad column mapping). */
  param?: string;
  /** The `columns` mapping sent with it (CSV). */
  columns?: Record<string, string>;
}

export type DocExample =
  | {
      kind: 'text';
      filename: string;
      content: string;
      /** The `columns` mapping to send with the upload (CSV). */
      columns?: Record<string, string>;
      expect: { format: DatasetFormat; examples: number };
    }
  | {
      kind: 'parquet';
      filename: string;
      /** The file's columns (all Parquet STRING / UTF8) and their values, row by row. */
      schema: { name: string; type: 'STRING'; values: string[] }[];
      columns: Record<string, string>;
      expect: { format: DatasetFormat; examples: number };
    }
  | {
      kind: 'compressed';
      /** The section whose example is compressed. */
      of: 'chat';
      variants: { compression: 'gzip' | 'zstd'; filename: string; command: string }[];
      expect: { format: DatasetFormat; examples: number };
    };

export interface DatasetFormatDoc {
  /** Anchor on /docs/datasets. */
  id: 'chat' | 'prompt-completion' | 'preference' | 'csv' | 'parquet' | 'compression';
  title: string;
  summary: string;
  whenToUse: string;
  table: DocTable;
  rules: string[];
  example: DocExample;
  /** How to upload the example (curl against /api/v1/files). */
  upload: string;
  refused: DocRefusal[];
}

const line = (v: unknown): string => JSON.stringify(v);
const jsonl = (records: unknown[]): string => records.map(line).join('\n') + '\n';

const fieldHead: DocTable['head'] = ['field', 'type', 'required', 'meaning'];
const roles = chatRoles.map((r) => `"${r}"`).join(', ');

const chatRecords = [
  {
    messages: [
      { role: 'system', content: 'You are the support assistant of Acme Cloud. Answer briefly.' },
      { role: 'user', content: 'How do I rotate my API key?' },
      { role: 'assistant', content: 'Open Settings → API keys, create a new key, switch your clients to it, then revoke the old one.' },
    ],
  },
  {
    messages: [
      { role: 'user', content: 'What is the weather in Paris right now?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temperature_c":18,"sky":"cloudy"}' },
      { role: 'assistant', content: 'It is 18 °C and cloudy in Paris.' },
    ],
    tools: [
      {
        type: 'function',
        function: { name: 'get_weather', description: 'Current weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
      },
    ],
  },
  {
    messages: [
      { role: 'user', content: 'Translate "good morning" into French.' },
      { role: 'assistant', content: 'Bonne nuit.', weight: 0 },
      { role: 'user', content: 'That means good night. Try again, please.' },
      { role: 'assistant', content: 'Bonjour.', weight: 1 },
    ],
  },
];

const chatContent = jsonl(chatRecords);

const curl = (args: string): string => `curl -H "Authorization: Bearer $EDGETUNE_KEY" ${args} \\\n  $EDGETUNE_URL/api/v1/files`;

export const datasetFormatDocs: DatasetFormatDoc[] = [
  {
    id: 'chat',
    title: 'Chat JSONL',
    summary: "One conversation per line in OpenAI's chat fine-tuning format: `messages`, optional `tools`, tool calls and per-message `weight`.",
    whenToUse:
      'The default for assistants and agents: multi-turn conversations, system prompts, function/tool calling. Text-only files prepared for OpenAI chat fine-tuning upload unchanged.',
    table: {
      head: fieldHead,
      rows: [
        ['messages', 'array of messages', 'yes', 'The conversation, at least one message. It needs an assistant message that is learned from (weight not 0), and the last message must be from the assistant.'],
        ['messages[].role', 'string', 'yes', `One of ${roles}.`],
        ['messages[].content', 'string | null', 'yes', 'The text, as a string (arrays of content parts are refused). Must not be empty or only whitespace (a tool message may be empty). May be null or left out only on an assistant message that has tool_calls.'],
        ['messages[].name', 'string', 'no', 'Name of the speaker; kept as given.'],
        ['messages[].tool_calls', 'array', 'no', 'Only on assistant messages, and not empty: the functions the assistant calls.'],
        ['messages[].tool_calls[].id', 'string', 'yes', 'Non-empty id; the tool message that answers this call names it in tool_call_id.'],
        ['messages[].tool_calls[].type', '"function"', 'yes', 'Always "function".'],
        ['messages[].tool_calls[].function.name', 'string', 'yes', 'Non-empty function name; when the record has "tools", one of the names declared there.'],
        ['messages[].tool_calls[].function.arguments', 'string', 'yes', 'The arguments as JSON-encoded text (as OpenAI sends them), e.g. "{\\"city\\":\\"Paris\\"}"; must parse as JSON.'],
        ['messages[].tool_call_id', 'string', 'on tool messages', 'The id of an earlier assistant tool call in the same conversation that this tool message answers.'],
        ['messages[].weight', '0 | 1', 'no', 'Only on assistant messages. 0 leaves the turn out of the loss (the model sees it but does not learn to say it); default 1.'],
        ['tools', 'array', 'no', 'Functions the model may call: [{ "type": "function", "function": { "name", "description"?, "parameters"? } }]; parameters is a JSON Schema object.'],
        ['parallel_tool_calls', 'boolean', 'no', 'Kept as given (OpenAI compatibility).'],
      ],
    },
    rules: [
      'Other top-level keys are dropped; message keys are stored as given.',
      'A record with "messages" is a chat record; every line of a file must have the same format.',
    ],
    example: { kind: 'text', filename: 'chat.jsonl', content: chatContent, expect: { format: 'chat', examples: 3 } },
    upload: curl('-F file=@chat.jsonl -F dataset=support'),
    refused: [
      {
        why: 'unknown role',
        content: jsonl([{ messages: [{ role: 'customer', content: 'Hello there, I need help.' }, { role: 'assistant', content: 'Of course, what is wrong?' }] }]),
        field: 'messages[0].role',
      },
      { why: 'no assistant turn to learn from', content: jsonl([{ messages: [{ role: 'user', content: 'Is anybody there at all?' }] }]), field: 'messages' },
      {
        why: 'empty content',
        content: jsonl([{ messages: [{ role: 'user', content: '   ' }, { role: 'assistant', content: 'Could you say more?' }] }]),
        field: 'messages[0].content',
      },
      {
        why: 'the last message is not from the assistant',
        content: jsonl([{ messages: [{ role: 'user', content: 'Hello there, friend.' }, { role: 'assistant', content: 'Hi, how can I help?' }, { role: 'user', content: 'Never mind, thanks.' }] }]),
        field: 'messages[2]',
      },
      {
        why: 'weight other than 0 or 1',
        content: jsonl([{ messages: [{ role: 'user', content: 'Say something nice.' }, { role: 'assistant', content: 'You are doing great!', weight: 0.5 }] }]),
        field: 'messages[1].weight',
      },
      {
        why: 'tool call arguments as an object instead of JSON text',
        content: jsonl([
          {
            messages: [
              { role: 'user', content: 'Weather in Oslo, please?' },
              { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: { city: 'Oslo' } } }] },
              { role: 'tool', tool_call_id: 'c1', content: '{"temperature_c":3}' },
              { role: 'assistant', content: 'It is 3 °C in Oslo.' },
            ],
          },
        ]),
        field: 'messages[1].tool_calls[0].function.arguments',
      },
      {
        why: 'a tool answer that matches no tool call',
        content: jsonl([
          {
            messages: [
              { role: 'user', content: 'Weather in Oslo, please?' },
              { role: 'tool', tool_call_id: 'c9', content: '{"temperature_c":3}' },
              { role: 'assistant', content: 'It is 3 °C in Oslo.' },
            ],
          },
        ]),
        field: 'messages[1].tool_call_id',
      },
    ],
  },
  {
    id: 'prompt-completion',
    title: 'Prompt/completion JSONL',
    summary: 'One `{"prompt", "completion"}` pair per line.',
    whenToUse:
      'Single-turn tasks — classification, extraction, rewriting — where each example is one input and the answer. It is stored and trained as a two-message chat (user = prompt, assistant = completion), so it is templated exactly like chat data.',
    table: {
      head: fieldHead,
      rows: [
        ['prompt', 'string', 'yes', 'The input; must not be empty or only whitespace.'],
        ['completion', 'string', 'yes', 'The answer the model learns; must not be empty or only whitespace.'],
      ],
    },
    rules: ['Other keys are ignored and not stored.', 'A record with "prompt" and "completion" (and no "messages", "chosen" or "rejected") is a prompt/completion record.'],
    example: {
      kind: 'text',
      filename: 'tickets.jsonl',
      content: jsonl([
        { prompt: 'Classify the ticket: "I was charged twice this month."', completion: 'billing' },
        { prompt: 'Classify the ticket: "The app crashes when I open settings."', completion: 'bug' },
        { prompt: 'Classify the ticket: "Can you add a dark mode?"', completion: 'feature_request' },
      ]),
      expect: { format: 'prompt_completion', examples: 3 },
    },
    upload: curl('-F file=@tickets.jsonl -F dataset=tickets -F format=prompt_completion'),
    refused: [
      { why: 'empty completion', content: jsonl([{ prompt: 'Classify the ticket: "Refund please."', completion: '' }]), field: 'completion' },
      { why: 'prompt is not a string', content: jsonl([{ prompt: 42, completion: 'forty-two' }]), field: 'prompt' },
    ],
  },
  {
    id: 'preference',
    title: 'Preference JSONL',
    summary: 'One `{"prompt", "chosen", "rejected"}` triple per line, for preference tuning (DPO).',
    whenToUse:
      'When you can say which of two answers is better — ratings, A/B choices, corrected outputs. Each side is plain text, or messages when the prompt is a conversation.',
    table: {
      head: fieldHead,
      rows: [
        ['prompt', 'string | array of messages', 'yes', 'The input: non-empty text, or a conversation (messages as in chat JSONL, any roles).'],
        ['chosen', 'string | array of messages', 'yes', 'The better answer: non-empty text, or assistant messages only.'],
        ['rejected', 'string | array of messages', 'yes', 'The worse answer, same shape as chosen; must differ from chosen.'],
      ],
    },
    rules: [
      'A record with "chosen" or "rejected" is a preference record.',
      'Message arrays follow the chat rules for each message (role, content, tool calls, weight). In training, assistant turns inside the prompt are context, and every answer turn is trained on whatever its weight.',
      'Token statistics count prompt + chosen and prompt + rejected: both sequences are trained on; the longer one must fit the context.',
      'A job on a preference file trains with Direct Preference Optimization (DPO) against the base model: the loss only counts the answer tokens, and the job reports reward accuracy (how often the chosen answer gains more over the base than the rejected one) besides its loss. Its validation file, if any, must hold preference pairs too. `hyperparameters.beta` (default 0.1, above 0 and at most 10) sets how closely the tuned model stays to the base; with the OpenAI client, send `method: {type: "dpo", dpo: {hyperparameters: {beta: 0.1}}}`.',
      'Task accuracy (in evaluation and on every benchmarked device) is measured on prompt + chosen: how often the model produces the preferred answer.',
    ],
    example: {
      kind: 'text',
      filename: 'prefs.jsonl',
      content: jsonl([
        {
          prompt: 'Summarize: The meeting moved from Tuesday to Thursday at 10:00 because the client is travelling.',
          chosen: 'The meeting is now Thursday at 10:00 (the client is travelling).',
          rejected: 'There is a meeting.',
        },
        {
          prompt: [
            { role: 'system', content: 'Answer in one sentence.' },
            { role: 'user', content: 'Why is the sky blue?' },
          ],
          chosen: [{ role: 'assistant', content: 'Air scatters blue sunlight more than red light, so blue reaches our eyes from every direction.' }],
          rejected: [{ role: 'assistant', content: 'Because the ocean reflects onto it.' }],
        },
      ]),
      expect: { format: 'preference', examples: 2 },
    },
    upload: curl('-F file=@prefs.jsonl -F dataset=prefs'),
    refused: [
      { why: 'chosen and rejected are the same', content: jsonl([{ prompt: 'Pick a colour for the logo.', chosen: 'Blue.', rejected: 'Blue.' }]), field: 'rejected' },
      {
        why: 'a non-assistant message as an answer',
        content: jsonl([{ prompt: 'Pick a colour for the logo.', chosen: [{ role: 'user', content: 'Blue.' }], rejected: 'Red.' }]),
        field: 'chosen[0].role',
      },
    ],
  },
  {
    id: 'csv',
    title: 'CSV (and TSV)',
    summary: 'A header row, then one example per row; a column mapping says which column holds which field.',
    whenToUse:
      'Data exported from a spreadsheet or a database. Name the columns after the fields (prompt, completion, …) and no mapping is needed; otherwise send `columns` with the upload (the portal asks for it).',
    table: {
      head: ['mapping key', 'cell', 'required', 'meaning'],
      rows: [
        ['prompt, completion', 'text', 'prompt/completion', 'As in prompt/completion JSONL.'],
        ['messages', 'JSON text', 'chat', 'The conversation as a JSON array of messages (quoted, with inner quotes doubled).'],
        ['tools', 'JSON text', 'no (chat)', 'The tools array as JSON.'],
        ['prompt, chosen, rejected', 'text, or JSON text of a message array', 'preference', 'As in preference JSONL; a cell starting with [{ is read as messages.'],
      ],
    },
    rules: [
      '`columns` is a JSON object, field → column name, e.g. {"prompt":"question","completion":"answer"}; the format follows from its keys (or from `format`). Columns not mapped are ignored.',
      'Without `columns`, header names equal to the field names (any case) are used.',
      'A mapped column missing from the header is refused before any row is read, naming the header\'s columns.',
      'Comma-separated; a file named .tsv is tab-separated. Quoting as in RFC 4180: cells with commas, quotes or newlines in double quotes, a quote inside written twice.',
      `UTF-8 (a byte-order mark is fine); empty rows are skipped; one record (all its cells) at most ${datasetDocLimits.maxCsvRecordBytes / MiB} MiB.`,
      'Errors and warnings name the data row — row 1 is the first after the header; blank lines are not rows — with the line of the file where it starts, since a quoted cell may span lines: e.g. "Row 2 (line 4 of the file)".',
    ],
    example: {
      kind: 'text',
      filename: 'support.csv',
      content: 'id,question,answer\n1,"How do I reset my password?","Use \'Forgot password\' on the sign-in page, then follow the link we e-mail you."\n2,"Can I pay by invoice, yearly?","Yes: choose \'Invoice\' under Billing → Payment method."\n3,"Is there a ""free"" plan?","Yes, with one project and\nno team members."\n',
      columns: { prompt: 'question', completion: 'answer' },
      expect: { format: 'prompt_completion', examples: 3 },
    },
    upload: curl(`-F file=@support.csv -F dataset=support \\\n  -F 'columns={"prompt":"question","completion":"answer"}'`),
    refused: [
      {
        why: 'the mapping names a column that is not in the header',
        content: 'question,reply\n"How do I reset my password?","Use the sign-in page."\n',
        field: null,
        param: 'columns',
        columns: { prompt: 'question', completion: 'answer' },
      },
      {
        why: 'a messages cell that is not valid JSON',
        content: 'conversation\n"[{""role"": ""user"", ""content"": ""Hi there""}"\n',
        field: 'messages',
        columns: { messages: 'conversation' },
      },
    ],
  },
  {
    id: 'parquet',
    title: 'Parquet',
    summary: 'A Parquet file with one example per row, mapped to the fields like CSV.',
    whenToUse: 'Datasets exported from pandas, Spark or the Hugging Face hub. Columns are read one row group at a time, so large files stay cheap.',
    table: {
      head: ['mapping key', 'column type', 'required', 'meaning'],
      rows: [
        ['prompt, completion', 'string (UTF8)', 'prompt/completion', 'As in prompt/completion JSONL.'],
        ['messages', 'string (JSON text)', 'chat', 'The conversation as a JSON array of messages.'],
        ['tools', 'string (JSON text)', 'no (chat)', 'The tools array as JSON.'],
        ['prompt, chosen, rejected', 'string: text, or JSON text of a message array', 'preference', 'As in preference JSONL; a cell starting with [{ is read as messages.'],
      ],
    },
    rules: [
      '`columns` works as for CSV; without it, columns named after the fields are used. Only the mapped columns are read.',
      'Text fields must be string columns: a number in prompt is refused ("must be a string").',
      `A row group may hold at most ${datasetDocLimits.maxParquetRowGroupBytes / MiB} MiB uncompressed; write large files with smaller row groups (e.g. row_group_size=10000).`,
      'Parquet compresses its own columns: upload the .parquet file itself, not gzip/zstd around it. The file is recognised by its first bytes "PAR1".',
      'Errors name the row (1-based).',
    ],
    example: {
      kind: 'parquet',
      filename: 'ratings.parquet',
      schema: [
        { name: 'question', type: 'STRING', values: ['Write a subject line for a price increase e-mail.', 'Suggest a name for a note-taking app.'] },
        { name: 'better', type: 'STRING', values: ['Changes to your plan price from 1 March', 'Margin — notes that keep up with you'] },
        { name: 'worse', type: 'STRING', values: ['IMPORTANT!!! READ NOW', 'App 1'] },
      ],
      columns: { prompt: 'question', chosen: 'better', rejected: 'worse' },
      expect: { format: 'preference', examples: 2 },
    },
    upload: curl(`-F file=@ratings.parquet -F dataset=ratings \\\n  -F 'columns={"prompt":"question","chosen":"better","rejected":"worse"}'`),
    refused: [],
  },
  {
    id: 'compression',
    title: 'gzip and zstd compressed files',
    summary: 'Any JSONL, CSV or TSV file may be uploaded gzip- or zstd-compressed; it is decompressed while it is validated.',
    whenToUse: 'Large files: text compresses well, so less goes over the wire. What is stored (and trained on) is the decompressed, normalized data.',
    table: {
      head: ['compression', 'recognised by (first bytes)', 'file name', 'notes'],
      rows: [
        ['gzip', '1f 8b', 'chat.jsonl.gz (any name)', 'Detected from the bytes, not the name; .gz/.gzip is stripped to find the inner type (.csv.gz → CSV).'],
        ['zstd', '28 b5 2f fd', 'chat.jsonl.zst (any name)', 'Same; .zst/.zstd is stripped.'],
        ['none', 'anything else', 'chat.jsonl', 'Read as is.'],
      ],
    },
    rules: [
      `Decompressing stops with an error once the data passes MAX_DECOMPRESSED_BYTES (default ${datasetDocLimits.defaultMaxDecompressedBytes / GiB} GiB), or expands more than ${datasetDocLimits.maxDecompressionRatio}× once past 64 MiB — a decompression bomb is refused, not unpacked.`,
      'A truncated or corrupt stream is refused ("the gzip stream is truncated …; the upload may have been cut off").',
      'The size limit MAX_UPLOAD_BYTES applies to the compressed bytes as sent; the same compressed bytes uploaded again return the existing version.',
    ],
    example: {
      kind: 'compressed',
      of: 'chat',
      variants: [
        { compression: 'gzip', filename: 'chat.jsonl.gz', command: 'gzip -k chat.jsonl' },
        { compression: 'zstd', filename: 'chat.jsonl.zst', command: 'zstd chat.jsonl' },
      ],
      expect: { format: 'chat', examples: 3 },
    },
    upload: curl('-F file=@chat.jsonl.zst -F dataset=support'),
    refused: [],
  },
];

/** Rules for every file, whatever its format. */
export const datasetGeneralRules: string[] = [
  'JSONL: one JSON object per line, UTF-8 encoded (a byte-order mark and CRLF line ends are fine). Blank lines are skipped but counted, so line numbers match your editor.',
  `A line may be at most ${datasetDocLimits.maxLineBytes / MiB} MiB. A file that starts with "[" (a JSON array) is refused: write one object per line.`,
  'The format is detected from the first record (or the CSV/Parquet columns) unless you send `format` (chat, prompt_completion or preference); every record must then have that format.',
  `Every record is checked before the dataset can be used. A refusal names the line (or row) and the field of each problem — the first ${datasetDocLimits.maxReportedErrors} are listed, with the total count — and nothing is stored.`,
  'Binary files (NUL bytes, ZIP/Excel, PDF, images, other archives) and files with no examples are refused with a message saying what they look like.',
  `Warnings do not refuse a file: exact and near duplicates, examples longer than the base model's context (counted with its tokenizer), examples under ${datasetDocLimits.minExampleChars} characters, imbalanced labels, likely e-mail addresses, phone and card numbers.`,
  'Uploading the same bytes to the same dataset again returns the existing version.',
];

export interface DocApiSection {
  id: string;
  title: string;
  text: string;
  code: string;
}

/** How to upload, with `base` the server's address (e.g. http://127.0.0.1:3000). */
export function datasetApiDocs(base: string): DocApiSection[] {
  const auth = '-H "Authorization: Bearer $EDGETUNE_KEY"';
  return [
    {
      id: 'api-files',
      title: 'One request: POST /api/v1/files',
      text: 'Multipart form with `file` and the optional fields `dataset` (name; default: the file name without extensions), `format` (auto, chat, prompt_completion, preference), `columns` (JSON text) and `base_model` (whose tokenizer counts tokens). The answer (201) is the new version: id, format, examples, dataset_id, version; its validation report (warnings, statistics) is at /api/v1/datasets/{dataset_id}/versions/{id}. Invalid data gets 400 naming the lines. A raw body works too, with the same fields and `filename` as query parameters.',
      code: [
        `curl ${auth} -F file=@support.csv -F dataset=support -F format=prompt_completion \\`,
        `  -F 'columns={"prompt":"question","completion":"answer"}' ${base}/api/v1/files`,
        '',
        `curl ${auth} --data-binary @chat.jsonl.zst \\`,
        `  "${base}/api/v1/files?filename=chat.jsonl.zst&dataset=support"`,
      ].join('\n'),
    },
    {
      id: 'api-uploads',
      title: 'Large files: resumable uploads (/api/v1/uploads)',
      text: `Create an upload with the file's size, send the bytes in order in chunks (the server suggests ${datasetDocLimits.uploadChunkBytes / MiB} MiB; at most ${datasetDocLimits.maxChunkBytes / MiB} MiB each) with Content-Range (END inclusive), then complete it. After a dropped connection GET tells the offset to continue from; a chunk sent from the wrong offset gets 409 with the right offset. Completing validates the data and creates the version (400 naming the lines when invalid). DELETE aborts and removes the bytes; unfinished uploads expire after ${datasetDocLimits.uploadTtlHours} hours.`,
      code: [
        `curl ${auth} -H 'Content-Type: application/json' \\`,
        `  -d '{"filename":"big.jsonl.zst","size":52428800,"dataset":"support"}' ${base}/api/v1/uploads`,
        '# → 201 {"id":"upl_…","offset":0,"size":52428800,"chunkSize":8388608,…}',
        '',
        `head -c 8388608 big.jsonl.zst | curl ${auth} -X PUT --data-binary @- \\`,
        `  -H 'Content-Type: application/octet-stream' -H 'Content-Range: bytes 0-8388607/52428800' \\`,
        `  ${base}/api/v1/uploads/upl_…`,
        '# → {"id":"upl_…","offset":8388608,"size":52428800}; repeat with the next range until offset = size',
        '',
        `curl ${auth} ${base}/api/v1/uploads/upl_…            # where to continue: {"offset":…,"status":"open"}`,
        `curl ${auth} -X POST ${base}/api/v1/uploads/upl_…/complete   # → {"file":…,"dataset":…,"report":…,"reused":false}`,
      ].join('\n'),
    },
    {
      id: 'api-openai',
      title: 'OpenAI client: /v1/files',
      text: 'The official OpenAI client uploads to /v1/files unchanged (API keys only). Extra fields (dataset, format, columns as JSON text, base_model) travel as form fields next to `purpose`.',
      code: [
        "import fs from 'node:fs';",
        "import OpenAI from 'openai';",
        `const client = new OpenAI({ baseURL: '${base}/v1', apiKey: process.env.EDGETUNE_KEY });`,
        '',
        "const file = await client.files.create({ file: fs.createReadStream('chat.jsonl'), purpose: 'fine-tune' });",
        '',
        'const csv = await client.files.create({',
        "  file: fs.createReadStream('support.csv'), purpose: 'fine-tune',",
        "  dataset: 'support', columns: JSON.stringify({ prompt: 'question', completion: 'answer' }),",
        '} as any);',
      ].join('\n'),
    },
  ];
}

/** The example as the bytes a user would upload (compressed and Parquet examples are built by the caller). */
export function docExampleText(doc: DatasetFormatDoc): string | null {
  const ex = doc.example;
  if (ex.kind === 'text') return ex.content;
  if (ex.kind === 'compressed') return chatContent;
  return null;
}
