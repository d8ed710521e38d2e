import type { DatasetReport, RecordUnit, ReportWarning } from '@edgetune/contracts';
import { DuplicateTable, ExampleHasher, IMBALANCE_RATIO, LabelCounter, LineList, MAX_LABEL_CHARS, MIN_EXAMPLE_CHARS, scanPii, TokenStats, type Locator } from './analysis';
import type { ParsedChat, TextKernel } from './text-kernel';
import type { TemplateMessage, TokenCounter } from './tokens';

/** Token counting is timed on one example in this many (see tokenClock). */
const TOKEN_TIMING_EVERY = 8;

type Obj = Record<string, unknown>;

/**
 * Statistics and warnings of the examples that passed their checks: counts per role, tool use,
 * duplicates, short examples, likely personal data, label balance and, with a token counter,
 * tokens per example and those too long for the base model's context.
 */
export class DatasetStatistics implements Locator {
  private count = 0;
  private messages = 0;
  private characters = 0;
  private toolCalls = 0;
  private examplesWithTools = 0;
  private excludedTurns = 0;
  private readonly roles: Record<string, number> = { system: 0, user: 0, assistant: 0, tool: 0 };
  private readonly hasher: ExampleHasher;
  private readonly dups = new DuplicateTable();
  // Each listed line keeps the stored record it became (see storedRecord), so a report links to it exactly.
  private readonly exact = new LineList(this);
  private readonly near = new LineList(this);
  private readonly short = new LineList(this);
  private readonly tooLong = new LineList(this);
  private readonly pii = [new LineList(this), new LineList(this), new LineList(this)];
  private readonly labels = new LabelCounter(this);
  private readonly tokenStats = new TokenStats();
  private currentFileLine = 0;
  /** Time in token counting on the timed examples (see tokenClock), and how many were counted and timed. */
  private tokenMs = 0;
  private tokenExamples = 0;
  private tokenTimed = 0;

  /** `kernel`: the counter's, when tokens are counted, so a message is copied in once for its fingerprint and its tokens. */
  constructor(
    kernel: TextKernel,
    private readonly counter: TokenCounter | null,
  ) {
    this.hasher = new ExampleHasher(kernel);
  }

  /** Examples analysed so far. */
  get examples(): number {
    return this.count;
  }

  /**
   * The current example's record number in the stored file: while it is analysed, the examples
   * before it are exactly the records written before it (any error rejects the whole file).
   */
  get storedRecord(): number {
    return this.count + 1;
  }

  /** CSV: the line of the file where the current row starts; 0 otherwise. */
  get fileLine(): number {
    return this.currentFileLine;
  }

  /** A chat example (prompt/completion ones come as user + assistant messages); `fileLine` as for RecordChecks.check. */
  chat(line: number, fileLine: number, messages: Obj[], tools: unknown[] | null): void {
    this.currentFileLine = fileLine;
    const h = this.hasher;
    h.reset();
    let chars = 0;
    let pii = 0;
    let last = '';
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      const role = m.role as string;
      this.roles[role]++;
      h.mark(role.charCodeAt(0) + (m.weight === 0 ? 1000 : 0));
      const c = m.content;
      if (typeof c === 'string') {
        h.feed(c);
        chars += c.length;
        if (h.piiCandidate) pii |= scanPii(c);
        if (role === 'assistant') last = c;
      }
      if (m.tool_calls) {
        const calls = m.tool_calls as Obj[];
        this.toolCalls += calls.length;
        h.feed(JSON.stringify(calls.map((t) => t.function)));
      }
      if (m.weight === 0) this.excludedTurns++;
    }
    if (tools) {
      this.examplesWithTools++;
      h.mark(7);
      h.feed(JSON.stringify(tools));
    }
    this.messages += messages.length;
    this.finishExample(line, chars, pii);
    this.labels.add(last, line);
    const counter = this.counter;
    if (counter) {
      const t0 = this.tokenClock();
      const n = counter.countExample(messages as TemplateMessage[], tools);
      this.tokenCounted(t0);
      this.tokenStats.add(n);
      if (n > counter.trainingLength) this.tooLong.add(line);
    }
    this.count++;
  }

  /**
   * A chat line the text kernel parsed (its fingerprint already taken by the parse): the same
   * statistics and warnings as chat() gives it, without a JavaScript object or string per
   * message. False, with nothing recorded, when the counter cannot count it from the parse.
   */
  parsedChat(line: number, chat: ParsedChat): boolean {
    const n = chat.messages;
    // What is read of the contents is read before counting tokens (which may reuse their memory).
    let pii = 0;
    for (let i = 0; i < n; i++) if (chat.mayHoldPii(i)) pii |= scanPii(chat.text(i));
    // The answer (the last message) is a label candidate only if it is short once trimmed.
    const last = n - 1;
    const first = chat.firstUnit(last);
    const final = chat.lastUnit(last);
    const answer = chat.length(last) <= MAX_LABEL_CHARS || first <= 32 || first >= 128 || final <= 32 || final >= 128 ? chat.text(last) : null;
    const counter = this.counter;
    let tokens = 0;
    if (counter) {
      const t0 = this.tokenClock();
      tokens = counter.countParsed(chat);
      if (tokens < 0) return false;
      this.tokenCounted(t0);
    }
    this.currentFileLine = 0;
    for (let i = 0; i < n; i++) {
      this.roles[chat.role(i)]++;
      if (chat.excluded(i)) this.excludedTurns++;
    }
    this.messages += n;
    this.finishExample(line, chat.characters, pii);
    if (answer === null) this.labels.addLong();
    else this.labels.add(answer, line);
    if (counter) {
      this.tokenStats.add(tokens);
      if (tokens > counter.trainingLength) this.tooLong.add(line);
    }
    this.count++;
    return true;
  }

  /** A preference pair: prompt, chosen and rejected, each plain text or messages. */
  preference(line: number, fileLine: number, r: Obj): void {
    this.currentFileLine = fileLine;
    const h = this.hasher;
    h.reset();
    let chars = 0;
    let pii = 0;
    const side = (v: unknown, role: string): TemplateMessage[] => (typeof v === 'string' ? [{ role, content: v }] : (v as TemplateMessage[]));
    const parts = { prompt: side(r.prompt, 'user'), chosen: side(r.chosen, 'assistant'), rejected: side(r.rejected, 'assistant') };
    for (const [k, msgs] of Object.entries(parts)) {
      h.mark(k.charCodeAt(0));
      for (const m of msgs) {
        if (typeof m.content === 'string') {
          h.feed(m.content);
          chars += m.content.length;
          if (h.piiCandidate) pii |= scanPii(m.content);
        }
      }
    }
    this.messages += parts.prompt.length + parts.chosen.length + parts.rejected.length;
    this.finishExample(line, chars, pii);
    const lastChosen = parts.chosen[parts.chosen.length - 1]?.content;
    this.labels.add(typeof lastChosen === 'string' ? lastChosen : '', line);
    const counter = this.counter;
    if (counter) {
      const t0 = this.tokenClock();
      // DPO trains on both sequences: both count towards the total; the longer one must fit.
      const a = counter.countExample([...parts.prompt, ...parts.chosen], null);
      const b = counter.countExample([...parts.prompt, ...parts.rejected], null);
      this.tokenCounted(t0);
      this.tokenStats.add(Math.max(a, b));
      this.tokenStats.total += Math.min(a, b);
      if (Math.max(a, b) > counter.trainingLength) this.tooLong.add(line);
    }
    this.count++;
  }

  private finishExample(line: number, chars: number, pii: number): void {
    this.characters += chars;
    const h = this.hasher;
    h.finish();
    const d = this.dups.check(h.n1, h.n2, h.e);
    if (d === 1) this.exact.add(line);
    else if (d === 2) this.near.add(line);
    if (chars < MIN_EXAMPLE_CHARS) this.short.add(line);
    if (pii & 1) this.pii[0].add(line);
    if (pii & 2) this.pii[1].add(line);
    if (pii & 4) this.pii[2].add(line);
  }

  /**
   * The start time when this example's token counting is timed, else -1: one example in
   * TOKEN_TIMING_EVERY is timed and the total scaled (reading the clock around every example
   * costs 2 % of validation).
   */
  private tokenClock(): number {
    return this.tokenExamples % TOKEN_TIMING_EVERY === 0 ? performance.now() : -1;
  }

  /** An example's tokens were counted (`t0` from tokenClock, just before). */
  private tokenCounted(t0: number): void {
    this.tokenExamples++;
    if (t0 >= 0) {
      this.tokenTimed++;
      this.tokenMs += performance.now() - t0;
    }
  }

  /** Estimated milliseconds spent counting tokens: the timed examples' time, scaled to all. */
  get tokenizerMs(): number {
    return this.tokenTimed ? (this.tokenMs * this.tokenExamples) / this.tokenTimed : 0;
  }

  /** The report's statistics (`lines`: the last line or row that held a record). */
  reportStats(lines: number, tokenizer: DatasetReport['stats']['tokenizer']): DatasetReport['stats'] {
    return {
      lines,
      messages: this.messages,
      characters: this.characters,
      roles: this.roles,
      toolCalls: this.toolCalls,
      examplesWithTools: this.examplesWithTools,
      excludedTurns: this.excludedTurns,
      tokens: this.counter ? this.tokenStats.summary() : null,
      tokenizer,
      labels: this.labels.distribution()?.map(({ label, count }) => ({ label, count })) ?? null,
    };
  }

  /** The numbers the version's `stats` keep of these statistics. */
  totals(): { messages: number; assistant_messages: number; characters: number; tokens?: number; max_tokens?: number } {
    return {
      messages: this.messages,
      assistant_messages: this.roles.assistant ?? 0,
      characters: this.characters,
      ...(this.counter ? { tokens: this.tokenStats.total, max_tokens: this.tokenStats.max } : {}),
    };
  }

  warnings(unit: RecordUnit): ReportWarning[] {
    const w: ReportWarning[] = [];
    const u = unit.toLowerCase();
    const add = (code: string, list: LineList, message: string): void => {
      if (list.count) w.push({ code, message, lines: list.lines, count: list.count, ...located(list) });
    };
    const dupNote = this.dups.full ? ` (duplicate tracking was full: the last ${this.dups.skipped} distinct examples were only compared with earlier ones)` : '';
    add('duplicates', this.exact, `${this.exact.count} ${examplesVerb(this.exact.count, 'repeats', 'repeat')} an earlier example exactly${dupNote}.`);
    add(
      'near_duplicates',
      this.near,
      `${this.near.count} ${examplesVerb(this.near.count, 'matches', 'match')} an earlier example once case, whitespace and punctuation are ignored${dupNote}.`,
    );
    if (this.counter) {
      add('too_long', this.tooLong, `${this.tooLong.count} ${examplesVerb(this.tooLong.count, 'is', 'are')} longer than the ${this.counter.trainingLength} tokens a fine-tuning job of ${this.counter.baseModel} trains on (counted with its tokenizer and chat template); training keeps the first ${this.counter.trainingLength} tokens of each.`);
    }
    add('too_short', this.short, `${this.short.count} ${examplesVerb(this.short.count, 'has', 'have')} fewer than ${MIN_EXAMPLE_CHARS} characters of text in all their messages together.`);
    const dist = this.labels.distribution();
    if (dist) {
      const top = dist[0];
      const rare = dist[dist.length - 1];
      if (top.count >= rare.count * IMBALANCE_RATIO) {
        const shown = dist.slice(0, 8).map((d) => `"${d.label}" ${d.count}`).join(', ');
        w.push({
          code: 'imbalance',
          message: `The final answers look like labels (short answers of ≤ ${MAX_LABEL_CHARS} characters) and are imbalanced: "${top.label}" appears ${top.count} times, "${rare.label}" only ${rare.count} (${shown}${dist.length > 8 ? ', …' : ''}). The ${u}s listed are those with the rarest label.`,
          lines: rare.lines,
          count: dist.length,
          ...located(rare),
        });
      }
    }
    add('pii_email', this.pii[0], `${this.pii[0].count} ${examplesVerb(this.pii[0].count, 'contains', 'contain')} what looks like an email address.`);
    add('pii_phone', this.pii[1], `${this.pii[1].count} ${examplesVerb(this.pii[1].count, 'contains', 'contain')} what looks like a phone number.`);
    add('pii_card', this.pii[2], `${this.pii[2].count} ${examplesVerb(this.pii[2].count, 'contains', 'contain')} what looks like a payment card number (passes the Luhn check).`);
    return w;
  }
}

const examplesVerb = (n: number, one: string, many: string): string => (n === 1 ? `example ${one}` : `examples ${many}`);

/** A warning's link targets: the stored record of each listed line, and for CSV the line of the file each row starts on. */
const located = (l: { records: number[]; fileLines: number[] }): Pick<ReportWarning, 'records' | 'fileLines'> => ({
  records: l.records,
  ...(l.fileLines.length ? { fileLines: l.fileLines } : {}),
});
