import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { findBaseModel, trainingMaxSeqLen, type BaseModel, type TokenizerAvailability } from '@edgetune/contracts';
import { storage, StorageNotFound, type Storage } from '@edgetune/storage';
import { MergeCounter } from './bpe-count';
import { CountTable } from './count-table';
import { TextKernel, type ParsedChat, type ParsedRole, type TextRef } from './text-kernel';

/**
 * Token counts of training examples with the base model's REAL tokenizer and chat template,
 * computed the way the trainer computes them (workers/trainer/edgetune_trainer/data.py):
 * `apply_chat_template(messages, tools=…, tokenize=False)` then tokenizing the text without adding
 * special tokens.
 *
 * Rendering through jinja and tokenizing whole examples in JS runs at ~1 MB/s, far too slow for
 * multi-gigabyte uploads, so the counter takes exact shortcuts and checks them:
 *  - Template skeletons: a conversation's rendering is computed once per "shape" (sequence of
 *    roles) with sentinel contents; an example is then the skeleton with its contents spliced in.
 *    A shape is only used if two different sentinel sets give the same skeleton (so the template
 *    does not transform content), and sampled examples are also rendered in full and compared —
 *    any mismatch turns the shortcut off for good.
 *  - Piece cache: tokenizers split on added tokens, then the pre-tokenizer's regex, and BPE runs on
 *    each piece on its own; so an example's count is the sum of its pieces' counts, and piece
 *    counts are cached (natural text repeats its words). Used only for the tokenizer structure
 *    where this holds (no normalizer, Split(regex)+ByteLevel or ByteLevel pre-tokenizer, BPE,
 *    plain added tokens) and after a self-check against the library's own `encode`.
 *  - Chunk table: for that split regex, a text is cut before every space that follows a
 *    non-space (always a piece boundary) and whole chunks (" word,") are counted from a second
 *    table; cutting, hashing and lookups run in the WebAssembly text kernel (text-kernel.ts).
 */

export interface TemplateMessage {
  role: string;
  content: string | null;
  [k: string]: unknown;
}

/** Piece table: 2^12 slots doubling up to 2^18 (4 MB). */
const PIECE_SLOTS = 1 << 18;
const PIECE_SLOTS_START = 1 << 12;
/**
 * Chunk table (see countChunks): 2^12 slots doubling up to 2^17 (1 MB of 8-byte slots, small enough to stay in
 * cache). Chunks longer than CHUNK_MAX are counted piece by piece and not kept.
 */
const CHUNK_SLOTS = 1 << 17;
const CHUNK_SLOTS_START = 1 << 12;
const CHUNK_MAX = 64;
/** Examples rendered in full for comparison: every shape's first few, then one in this many. */
const VERIFY_FIRST_PER_SHAPE = 8;
const VERIFY_EVERY = 509;

type Pre = { pre_tokenize_text(t: string): string[]; pattern?: RegExp; tokenizers?: Pre[]; config?: Record<string, unknown> };
type Model = { encode(tokens: string[]): string[] };

interface Shape {
  ok: boolean;
  /** Fixed text around the contents: pieces[0] + c0 + pieces[1] + c1 + … */
  pieces: string[];
  seen: number;
  /**
   * Token count of all the pieces together when every content sits between token boundaries
   * (see `separable`), so an example counts as this plus each content counted alone; -1 if not.
   */
  fixedTokens: number;
  /** Per content: the piece before it ends with a newline (not an added token). */
  afterNewline: boolean[];
}

export class TokenCounter {
  /** The longest example a fine-tuning job of this model trains on whole (longer ones are truncated). */
  readonly trainingLength: number;
  private template: Template;
  private specials: Record<string, string>;
  private added: RegExp | null;
  private addedTokens: string[];
  private addedLead: string | -1;
  private splitRe: RegExp | null = null;
  private byteLevel: Pre | null = null;
  private model: Model | null = null;
  /** BPE counts of first-seen pieces without the library's per-pair objects (null: not a plain BPE model). */
  private merges: MergeCounter | null = null;
  private pieceScanner = false;
  private cls = classes();
  private nativeToolCalls: boolean;
  private callMarkers: boolean;
  private pieceTable = new CountTable(PIECE_SLOTS_START, PIECE_SLOTS);
  /** Cuts texts into chunks and keeps their counts (see countChunks); an ExampleHasher on it shares the copied texts. */
  readonly kernel = new TextKernel();
  private shapes = new Map<number | string, Shape>();
  private skeletonsOn = true;
  /** Counting an example as its contents plus its shape's fixed tokens (checked on samples). */
  private perMessageOn = true;
  /** Token counts of repeated system prompts. */
  private systemCounts = new Map<string, number>();
  private systemChars = 0;
  private examples = 0;
  /** Why the fast paths are off, for the report; null while they are on. */
  fastPathNote: string | null = null;
  renderFailures = 0;

  constructor(
    readonly baseModel: string,
    private tok: Tokenizer,
    tokenizerJson: Record<string, unknown>,
    templateSource: string,
    specials: Record<string, string>,
    trainingLength: number,
  ) {
    this.trainingLength = trainingLength;
    this.kernel.initTable(CHUNK_SLOTS_START, CHUNK_SLOTS);
    this.template = new Template(templateSource);
    this.nativeToolCalls = templateSource.includes('tool_calls');
    this.callMarkers = tok.token_to_id(TOOL_CALL_START) !== undefined && tok.token_to_id(TOOL_CALL_END) !== undefined;
    this.specials = specials;
    const addedTokens = ((tokenizerJson.added_tokens as { content: string; lstrip?: boolean; rstrip?: boolean; single_word?: boolean; normalized?: boolean }[]) ?? []).slice();
    const plain = addedTokens.every((t) => !t.lstrip && !t.rstrip && !t.single_word);
    addedTokens.sort((a, b) => b.content.length - a.content.length);
    // Longest first, as the regex alternation below: the tokenizer matches the longest added token.
    this.addedTokens = addedTokens.map((t) => t.content).filter((c) => c.length > 0);
    const leads = new Set(this.addedTokens.map((c) => c[0]));
    this.addedLead = leads.size === 1 ? [...leads][0] : -1;
    this.added = addedTokens.length ? new RegExp(addedTokens.map((t) => t.content.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g') : null;
    const t = tok as unknown as { normalizer: unknown; pre_tokenizer: Pre | null; model: Model | null };
    const modelType = (tokenizerJson.model as { type?: string } | undefined)?.type;
    const pre = t.pre_tokenizer;
    if (plain && !t.normalizer && modelType === 'BPE' && pre && t.model) {
      const cfg = (tokenizerJson.pre_tokenizer ?? {}) as { type?: string; pretokenizers?: { type: string; behavior?: string; invert?: boolean; use_regex?: boolean; add_prefix_space?: boolean }[] };
      const seq = cfg.type === 'Sequence' ? cfg.pretokenizers ?? [] : [];
      if (
        seq.length === 2 &&
        seq[0].type === 'Split' &&
        seq[0].behavior === 'Isolated' &&
        !seq[0].invert &&
        seq[1].type === 'ByteLevel' &&
        seq[1].use_regex === false &&
        !seq[1].add_prefix_space &&
        pre.tokenizers?.[0]?.pattern
      ) {
        this.splitRe = new RegExp(pre.tokenizers[0].pattern.source, 'gu');
        const raw = (tokenizerJson.pre_tokenizer as { pretokenizers: { pattern?: { Regex?: string } }[] }).pretokenizers[0].pattern?.Regex;
        this.pieceScanner = raw === LLAMA3_PATTERN;
        this.byteLevel = pre.tokenizers[1];
        this.model = t.model;
        this.merges = MergeCounter.from(tokenizerJson.model as Parameters<typeof MergeCounter.from>[0]);
      }
    }
    if (!this.model) this.fastPathNote = 'tokenizer structure not covered by the piece cache; counting with the library encoder';
    else if (!this.selfCheck()) {
      this.model = null;
      this.fastPathNote = 'piece-cache self-check failed; counting with the library encoder';
    }
  }

  /** Tokens of an already rendered text, as `tokenizer(text, add_special_tokens=False)` gives. */
  countText(text: string): number {
    if (!this.model) return this.libraryCount(text);
    let n = 0;
    let prev = 0;
    const re = this.added;
    if (this.addedLead !== -1) {
      // All added tokens start with the same character (ChatML: '<'): find candidates with
      // indexOf, far faster than the alternation regex on long texts.
      const lead = this.addedLead as string;
      const tokens = this.addedTokens;
      let at = text.indexOf(lead, 0);
      while (at >= 0) {
        let match = '';
        for (const t of tokens) {
          if (text.startsWith(t, at)) {
            match = t;
            break;
          }
        }
        if (match) {
          if (at > prev) n += this.countSegment(text.slice(prev, at));
          n += 1;
          prev = at + match.length;
          at = text.indexOf(lead, prev);
        } else at = text.indexOf(lead, at + 1);
      }
    } else if (re) {
      re.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = re.exec(text))) {
        if (m.index > prev) n += this.countSegment(text.slice(prev, m.index));
        n += 1;
        prev = m.index + m[0].length;
      }
    }
    if (prev < text.length) n += this.countSegment(prev === 0 ? text : text.slice(prev));
    return n;
  }

  /** Tokens of one example rendered with the chat template, as the trainer renders it. */
  countExample(messages: TemplateMessage[], tools: unknown[] | null): number {
    this.examples++;
    const t = tools && tools.length ? tools : null;
    // Simple messages (text content, no tool calls) are what forTemplate would hand over anyway.
    if (t === null && this.perMessageOn) {
      const n = this.countPerMessage(messages);
      if (n >= 0) return n;
    }
    return this.countText(this.renderExample(this.forTemplate(messages), t));
  }

  /**
   * An example's count without rendering it: its shape's fixed tokens plus each content counted
   * on its own — exact when every content starts and ends on a token boundary (`separable`), which
   * saves building, scanning and slicing the rendered text. -1 when this example cannot be
   * counted this way. Sampled examples are also counted in full; a difference turns it off.
   */
  private countPerMessage(msgs: TemplateMessage[]): number {
    if (!this.skeletonsOn || !this.pieceScanner || !this.model) return -1;
    const key = shapeKey(msgs);
    if (key === null) return -1;
    const shape = this.shapes.get(key);
    // New shapes and each shape's first examples go through renderExample, which verifies them.
    if (!shape || !shape.ok || shape.fixedTokens < 0 || shape.seen < VERIFY_FIRST_PER_SHAPE) return -1;
    const CLS = this.cls;
    let n = shape.fixedTokens;
    for (let i = 0; i < msgs.length; i++) {
      const c = msgs[i].content as string;
      if (c.length > 0 && shape.afterNewline[i]) {
        // After a newline the content must start a new piece: anything but whitespace does.
        const c0 = c.charCodeAt(0);
        if (!((c0 > 32 && c0 < 127) || CLS[c0] === LETTER || CLS[c0] === DIGIT)) return -1;
      }
      n += msgs[i].role === 'system' ? this.countSystem(c) : this.countText(c);
    }
    if (this.examples % VERIFY_EVERY === 0) {
      const full = this.countText(this.renderExample(msgs, null));
      if (full !== n) {
        this.perMessageOn = false;
        this.fastPathNote = 'per-message counting differed from counting the rendered example; counting rendered examples';
        return full;
      }
    } else shape.seen++;
    return n;
  }

  /**
   * The unit a content must contain for countParsed to need its text (the first character of
   * the added tokens, when they share one); -1 when there are no added tokens.
   */
  get leadCode(): number {
    return typeof this.addedLead === 'string' ? this.addedLead.charCodeAt(0) : -1;
  }

  /** Whether countParsed can count lines at all (the fast paths it takes are on). */
  get countsParsed(): boolean {
    return this.skeletonsOn && this.pieceScanner && this.model !== null && this.perMessageOn && (this.added === null || this.addedLead !== -1);
  }

  /**
   * countExample of the chat line this counter's kernel just parsed (TextKernel.parseChat, with
   * `leadCode`), counted from the kernel's copies of its contents as countPerMessage counts them;
   * -1 when countExample must count it (a shape not yet verified, an example sampled for
   * verification, fast paths off) — nothing is counted then. It may reuse the kernel memory
   * holding the line's contents: read what else is needed of them first.
   */
  countParsed(chat: ParsedChat): number {
    if (!this.countsParsed) return -1;
    const n = chat.messages;
    // The same key shapeKey gives these messages (no names: the kernel does not parse lines with one).
    let key: number | string;
    if (n <= 6) {
      key = 0;
      for (let i = 0; i < n; i++) key = key * 32 + parsedRoleCode(chat.role(i)) + (chat.excluded(i) ? 8 : 0);
    } else {
      key = '';
      for (let i = 0; i < n; i++) key += `${chat.role(i)}${chat.excluded(i) ? '0' : ''},`;
    }
    const shape = this.shapes.get(key);
    if (!shape || !shape.ok || shape.fixedTokens < 0 || shape.seen < VERIFY_FIRST_PER_SHAPE) return -1;
    if ((this.examples + 1) % VERIFY_EVERY === 0) return -1;
    const CLS = this.cls;
    let total = shape.fixedTokens;
    for (let i = 0; i < n; i++) {
      const len = chat.length(i);
      if (len > 0 && shape.afterNewline[i]) {
        const c0 = chat.firstUnit(i);
        if (!((c0 > 32 && c0 < 127) || CLS[c0] === LETTER || CLS[c0] === DIGIT)) return -1;
      }
    }
    // Contents with an added token's first character are counted as strings, after the others:
    // loading them may reuse the kernel memory the others are read from.
    let withLead: string[] | null = null;
    for (let i = 0; i < n; i++) {
      if (chat.hasLead(i)) (withLead ??= []).push(chat.text(i));
      else total += this.countChunksAt(chat.content(i), chat.length(i), null);
    }
    if (withLead) for (const t of withLead) total += this.countText(t);
    this.examples++;
    shape.seen++;
    return total;
  }

  /** System prompts repeat across a dataset: their counts are kept (up to 4M characters of them). */
  private countSystem(text: string): number {
    let n = this.systemCounts.get(text);
    if (n === undefined) {
      n = this.countText(text);
      if (this.systemChars + text.length > 4 << 20) {
        this.systemCounts.clear();
        this.systemChars = 0;
      }
      this.systemCounts.set(text, n);
      this.systemChars += text.length;
    }
    return n;
  }

  /**
   * Whether a shape's contents always sit between token boundaries: each piece after a content
   * starts with an added token (the tokenizer splits there first), no added token can straddle a
   * piece and a content, and each piece before a content ends with an added token or a newline
   * (the split regex ends a piece after the newline when the content does not start with
   * whitespace — checked per example).
   */
  private separable(pieces: string[]): boolean {
    const tokens = this.addedTokens;
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i];
      if (i > 0 && !tokens.some((t) => p.startsWith(t))) return false;
      if (i < pieces.length - 1 && !p.endsWith('\n') && !tokens.some((t) => p.endsWith(t))) return false;
      for (const t of tokens) {
        for (let k = 1; k < t.length; k++) {
          const head = t.slice(0, k);
          const tail = t.slice(k);
          if (i < pieces.length - 1 && p.endsWith(head)) return false;
          if (i > 0 && (p.startsWith(tail) || tail.startsWith(p))) return false;
        }
      }
    }
    return true;
  }

  /**
   * The messages as the trainer hands them to the template (data.py `for_template`): null
   * content becomes '', and tool calls are written into the content as a JSON list of
   * {name, arguments} — inside the tool-call markers when the vocabulary has them — unless the
   * template renders `tool_calls` itself.
   */
  forTemplate(messages: TemplateMessage[]): TemplateMessage[] {
    let changed = false;
    for (const m of messages) if (typeof m.content !== 'string' || (m.tool_calls && !this.nativeToolCalls)) changed = true;
    if (!changed) return messages;
    return messages.map((m) => {
      let content = typeof m.content === 'string' ? m.content : m.content === null || m.content === undefined ? '' : pyDumps(m.content);
      const calls = m.tool_calls as { function?: { name?: unknown; arguments?: unknown } }[] | undefined;
      if (!calls || !calls.length || this.nativeToolCalls) return { ...m, content };
      const list = calls.map((c) => {
        let args: unknown = c.function?.arguments ?? '{}';
        if (typeof args === 'string') {
          try {
            args = JSON.parse(args);
          } catch {
            // kept as the string, as the trainer does
          }
        }
        return { name: c.function?.name ?? null, arguments: args };
      });
      const text = pyDumps(list);
      content += this.callMarkers ? `${TOOL_CALL_START}${text}${TOOL_CALL_END}` : text;
      const { tool_calls: _drop, ...rest } = m;
      return { ...rest, content };
    });
  }

  renderExample(messages: TemplateMessage[], tools: unknown[] | null): string {
    const key = this.skeletonsOn && tools === null ? shapeKey(messages) : null;
    if (key === null) return this.renderFull(messages, tools);
    let shape = this.shapes.get(key);
    if (!shape) {
      shape = this.makeShape(messages);
      this.shapes.set(key, shape);
    }
    if (!shape.ok) return this.renderFull(messages, tools);
    let text = shape.pieces[0];
    for (let i = 0; i < messages.length; i++) text += (messages[i].content as string) + shape.pieces[i + 1];
    shape.seen++;
    if (shape.seen <= VERIFY_FIRST_PER_SHAPE || this.examples % VERIFY_EVERY === 0) {
      const full = this.renderFull(messages, tools);
      if (full !== text) {
        // The template looks at content after all: never splice again.
        this.skeletonsOn = false;
        this.fastPathNote = 'chat template depends on message content; rendering every example in full';
        return full;
      }
    }
    return text;
  }

  private makeShape(messages: TemplateMessage[]): Shape {
    const attempt = (mk: (i: number) => string): string[] | null => {
      const sentinels = messages.map((_, i) => mk(i));
      let text: string;
      try {
        text = this.renderRaw(messages.map((m, i) => ({ ...m, content: sentinels[i] })), null);
      } catch {
        return null;
      }
      const pieces: string[] = [];
      let pos = 0;
      for (const s of sentinels) {
        const at = text.indexOf(s, pos);
        if (at < 0 || text.indexOf(s, at + s.length) >= 0) return null;
        pieces.push(text.slice(pos, at));
        pos = at + s.length;
      }
      pieces.push(text.slice(pos));
      return pieces;
    };
    const a = attempt((i) => `\u0001et${i}q\u0002`);
    const b = attempt((i) => ` \n\u0001ET${i}Q x\u0002\t `);
    const ok = a !== null && b !== null && a.length === b.length && a.every((p, i) => p === b[i]);
    const pieces = a ?? [];
    const fixedTokens = ok && this.model && this.pieceScanner && this.separable(pieces) ? pieces.reduce((n, p) => n + this.countText(p), 0) : -1;
    const afterNewline = pieces.slice(0, -1).map((p) => p.endsWith('\n'));
    return { ok, pieces, seen: 0, fixedTokens, afterNewline };
  }

  private renderRaw(messages: TemplateMessage[], tools: unknown[] | null): string {
    return this.template.render({ messages, tools, add_generation_prompt: false, ...this.specials });
  }

  private renderFull(messages: TemplateMessage[], tools: unknown[] | null): string {
    try {
      return this.renderRaw(messages, tools);
    } catch {
      // Templates written for text-only turns fail on a null content (tool-call turns): render
      // those turns with empty content, which is what such a template can train on.
      this.renderFailures++;
      return this.renderRaw(
        messages.map((m) => (m.content === null ? { ...m, content: '' } : m)),
        tools,
      );
    }
  }

  private countSegment(seg: string): number {
    return this.pieceScanner ? this.countChunks(seg) : this.countPieces(seg);
  }

  /**
   * Tokens of a text (no added tokens in it) by chunks: it is cut before every space that follows
   * a non-space (" word," "  x" …). Each such cut is a boundary of the split regex's pieces — no
   * alternative carries a piece over it, and none looks past it — so the text's tokens are the sum
   * of its chunks' tokens, each counted on its own. Natural text repeats its chunks, whose counts
   * are kept in the kernel's table: the cutting, hashing and lookups run in WebAssembly, and only
   * chunks seen for the first time (or longer than CHUNK_MAX) are counted here, piece by piece.
   */
  private countChunks(s: string): number {
    return this.countChunksAt(this.kernel.load(s), s.length, s);
  }

  /** countChunks of the text of `len` units at `at` in the kernel (`s`: the same text as a string, if there is one). */
  private countChunksAt(at: TextRef, len: number, s: string | null): number {
    const k = this.kernel;
    let n = k.countChunks(at, len, CHUNK_MAX);
    const misses = k.misses;
    for (let i = 0; i < misses; i++) {
      const start = k.missStart(i);
      const end = k.missEnd(i);
      const c = this.countPieces(s !== null ? s.slice(start, end) : k.slice(at, start, end));
      if (end - start <= CHUNK_MAX) k.remember(i, c);
      n += c;
    }
    return n;
  }

  /** Tokens of a text as the split regex's pieces, each from the piece table or the BPE model. */
  private countPieces(seg: string): number {
    if (this.pieceScanner) {
      const n = this.scanPieces(seg);
      if (n >= 0) return n;
    }
    const re = this.splitRe as RegExp;
    re.lastIndex = 0;
    let n = 0;
    let prev = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(seg))) {
      const len = m[0].length;
      if (len === 0) {
        re.lastIndex++;
        continue;
      }
      if (m.index > prev) n += this.countPiece(seg, prev, m.index);
      n += this.countPiece(seg, m.index, m.index + len);
      prev = m.index + len;
    }
    if (prev < seg.length) n += this.countPiece(seg, prev, seg.length);
    return n;
  }

  /**
   * The LFM2/llama3 split regex hand-compiled over a class table: the same pieces as the regex,
   * without allocating a match per piece. -1 when `s` has characters outside the BMP (emoji…);
   * the regex path handles those. Alternatives are tried in the regex's order:
   * 1 `(?i:'s|'t|'re|'ve|'m|'ll|'d)` 2 `[^\r\n\p{L}\p{N}]?\p{L}+` 3 `\p{N}{1,3}`
   * 4 ` ?[^\s\p{L}\p{N}]+[\r\n]*` 5 `\s*[\r\n]+` 6 `\s+(?!\S)` 7 `\s+`.
   */
  private scanPieces(s: string): number {
    const CLS = this.cls;
    const len = s.length;
    let n = 0;
    let i = 0;
    while (i < len) {
      const c = s.charCodeAt(i);
      const k = CLS[c];
      // Runs never take a surrogate (no class matches it), so each one starts a piece and lands
      // here: the regex path then recounts the whole text.
      if (k === SURROGATE) return -1;
      let j = -1;
      if (c === 39 && i + 1 < len) {
        const c1 = s.charCodeAt(i + 1) | 0x20;
        if (c1 === 115 || c1 === 116 || c1 === 109 || c1 === 100) j = i + 2;
        else if (i + 2 < len) {
          const c2 = s.charCodeAt(i + 2) | 0x20;
          if ((c1 === 114 && c2 === 101) || (c1 === 118 && c2 === 101) || (c1 === 108 && c2 === 108)) j = i + 3;
        }
      }
      if (j < 0) {
        if (k === LETTER || (k !== NEWLINE && k !== DIGIT && i + 1 < len && CLS[s.charCodeAt(i + 1)] === LETTER)) {
          // Letters with an optional non-letter before them: the most common piece by far, so its
          // hash (as countPiece computes it) is taken while scanning, not in a second pass.
          let h1 = Math.imul(0x811c9dc5 ^ c, 0x01000193);
          let h2 = Math.imul((0x2545f491 ^ c) + (0x2545f491 >>> 15), 0x5bd1e995);
          j = i + 1;
          while (j < len) {
            const cj = s.charCodeAt(j);
            if (CLS[cj] !== LETTER) break;
            h1 = Math.imul(h1 ^ cj, 0x01000193);
            h2 = Math.imul((h2 ^ cj) + (h2 >>> 15), 0x5bd1e995);
            j++;
          }
          n += this.pieceCount(s, i, j, h1, h2);
          i = j;
          continue;
        } else if (k === DIGIT) {
          j = i + 1;
          while (j < len && j < i + 3 && CLS[s.charCodeAt(j)] === DIGIT) j++;
        } else {
          const p = c === 32 && i + 1 < len && CLS[s.charCodeAt(i + 1)] === OTHER ? i + 1 : i;
          if (CLS[s.charCodeAt(p)] === OTHER) {
            j = p + 1;
            while (j < len && CLS[s.charCodeAt(j)] === OTHER) j++;
            while (j < len && CLS[s.charCodeAt(j)] === NEWLINE) j++;
          } else {
            // Whitespace run [i, r): up to its last newline (5); else all of it at the end of
            // the text, or all but the last char (6), or the single char (7).
            let r = i;
            let lastNl = -1;
            while (r < len) {
              const kr = CLS[s.charCodeAt(r)];
              if (kr === NEWLINE) lastNl = r;
              else if (kr !== SPACE) break;
              r++;
            }
            if (lastNl >= 0) j = lastNl + 1;
            else if (r === len) j = r;
            else if (r - i >= 2) j = r - 1;
            else j = i + 1;
          }
        }
      }
      n += this.countPiece(s, i, j);
      i = j;
    }
    return n;
  }

  /** Token count of s[a, b) as one pre-token: its two hashes, then pieceCount. */
  private countPiece(s: string, a: number, b: number): number {
    let h1 = 0x811c9dc5;
    let h2 = 0x2545f491;
    for (let k = a; k < b; k++) {
      const c = s.charCodeAt(k);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul((h2 ^ c) + (h2 >>> 15), 0x5bd1e995);
    }
    return this.pieceCount(s, a, b, h1, h2);
  }

  /** countPiece with the piece's hashes already computed: from the piece table, else BPE. */
  private pieceCount(s: string, a: number, b: number, h1: number, h2: number): number {
    let n = this.pieceTable.get(b - a, h1, h2);
    if (n < 0) {
      n = this.bpeCount(s.slice(a, b));
      this.pieceTable.add(b - a, h1, h2, n);
    }
    return n;
  }

  /** Tokens of one pre-token: byte-level mapping, then BPE (our merge loop where it applies, else the library's). */
  private bpeCount(piece: string): number {
    let n = 0;
    for (const p of (this.byteLevel as Pre).pre_tokenize_text(piece)) {
      const c = this.merges ? this.merges.count(p) : -1;
      n += c >= 0 ? c : (this.model as Model).encode([p]).length;
    }
    return n;
  }

  private libraryCount(text: string): number {
    return this.tok.encode(text, { add_special_tokens: false }).ids.length;
  }

  private selfCheck(): boolean {
    const samples = [
      "Hello world! It's 2024 — naïve café, 東京タワー, 12345678 tokens?\n\n  indented\tline\r\nend   ",
      ...Object.values(this.specials).map((s) => `${s}user\nHi there${s}\n`),
      "  leading spaces, trailing spaces   \n\n\n'll 've 'RE don't\u00a0nbsp 🙂 emoji",
      "ASCII only: I'M here, you'RE there; 'Sup?! (x+y)=12345 \"quoted\" \t\ttabs\n \n  \r\n-- end ... ",
      "  \n\n  x  y   \t\vz\f 'll'd 's99 a1b2c3 <html>...</html>\n\n\n   ",
    ];
    return samples.every((t) => this.countText(t) === this.libraryCount(t));
  }
}

const TOOL_CALL_START = '<|tool_call_start|>';
const TOOL_CALL_END = '<|tool_call_end|>';

/**
 * Python's `json.dumps(v, ensure_ascii=False)` (", " and ": " separators), which the trainer
 * uses to write tool calls into the text. Numbers follow JS (a literal 1.0 prints as 1, where
 * Python keeps 1.0); everything else is identical.
 */
export function pyDumps(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : v > 0 ? 'Infinity' : v < 0 ? '-Infinity' : 'NaN';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return `[${v.map(pyDumps).join(', ')}]`;
  return `{${Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => `${JSON.stringify(k)}: ${pyDumps(x)}`)
    .join(', ')}}`;
}

const LLAMA3_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const OTHER = 0;
const LETTER = 1;
const DIGIT = 2;
const SPACE = 3;
const NEWLINE = 4;
/** ASCII classes as the split regex sees them (\\s is White_Space: \\t \\v \\f space; \\r \\n apart). */
const SURROGATE = 5;
/**
 * Classes of every BMP code unit as the split regex sees them: \\p{L}, \\p{N}, White_Space
 * (\\s; \\r and \\n apart), other. Surrogates (astral characters) send the text to the regex.
 */
let classTable: Uint8Array | null = null;
/** Built on first use (~65k regex tests), not when the API imports this module. */
function classes(): Uint8Array {
  classTable ??= buildClasses();
  return classTable;
}
function buildClasses(): Uint8Array {
  const t = new Uint8Array(65536);
  const letter = /\p{L}/u;
  const number = /\p{N}/u;
  const space = /\p{White_Space}/u;
  for (let c = 0; c < 65536; c++) {
    if (c >= 0xd800 && c <= 0xdfff) t[c] = SURROGATE;
    else {
      const ch = String.fromCharCode(c);
      t[c] = letter.test(ch) ? LETTER : number.test(ch) ? DIGIT : c === 10 || c === 13 ? NEWLINE : space.test(ch) ? SPACE : OTHER;
    }
  }
  return t;
}

const ROLE_CODES: Record<string, number> = { system: 1, user: 2, assistant: 3, tool: 4 };
/** ROLE_CODES of a parsed line's role, without a keyed lookup (this runs per message of most lines). */
const parsedRoleCode = (role: ParsedRole): number => (role === 'assistant' ? 3 : role === 'user' ? 2 : 1);

/**
 * What a template rendering depends on besides the contents: each message's role, whether it is
 * excluded from the loss (weight 0) and whether it has a name. A small integer for up to six
 * messages of the usual roles (5 bits each, so no string is built and hashed per example), else a
 * string; null when a message is not simple (see isSimpleMessage).
 */
export function shapeKey(msgs: TemplateMessage[]): number | string | null {
  let key = 0;
  let numeric = msgs.length <= 6;
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i];
    if (!isSimpleMessage(m)) return null;
    const role = ROLE_CODES[m.role];
    if (role === undefined) numeric = false;
    key = key * 32 + (role | 0) + (m.weight === 0 ? 8 : 0) + (m.name !== undefined ? 16 : 0);
  }
  // Every code is at least 1, so the base-32 number also says how many messages there are.
  if (numeric) return key;
  let s = '';
  for (const m of msgs) s += m.role + (m.weight === 0 ? '0' : '') + (m.name !== undefined ? '@' : '') + ',';
  return s;
}

function isSimpleMessage(m: TemplateMessage): boolean {
  if (typeof m.content !== 'string') return false;
  for (const k in m) if (k !== 'role' && k !== 'content' && k !== 'weight' && k !== 'name') return false;
  return true;
}

async function readText(store: Storage, key: string): Promise<string | null> {
  try {
    const chunks: Buffer[] = [];
    for await (const c of await store.get(key)) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  } catch (e) {
    if (e instanceof StorageNotFound) return null;
    throw e;
  }
}

function tokenString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

export type CounterResult = { counter: TokenCounter; availability: TokenizerAvailability } | { counter: null; availability: TokenizerAvailability };

const loaded = new Map<string, Promise<TokenCounter>>();

/**
 * The base model's token counter, read from the object store where the trainer stages base
 * models (`<storagePrefix>/tokenizer.json`, `tokenizer_config.json`). Returns the reason instead
 * when the model is unknown or not staged yet; a failed load is retried on the next call.
 */
export async function loadTokenCounter(baseModelId: string, store: Storage = storage()): Promise<CounterResult> {
  const model: BaseModel | undefined = findBaseModel(baseModelId);
  if (!model) return { counter: null, availability: { baseModel: baseModelId, available: false, reason: `Unknown base model '${baseModelId}'.` } };
  const cacheKey = `${model.id}\u0000${model.storagePrefix}`;
  let p = loaded.get(cacheKey);
  if (!p) {
    p = buildCounter(model, store);
    loaded.set(cacheKey, p);
    p.catch(() => loaded.delete(cacheKey));
  }
  try {
    return { counter: await p, availability: { baseModel: model.id, available: true } };
  } catch (e) {
    return { counter: null, availability: { baseModel: model.id, available: false, reason: (e as Error).message } };
  }
}

/** Forgets loaded tokenizers (tests stage different stores in one process). */
export function clearTokenizerCache(): void {
  loaded.clear();
}

async function buildCounter(model: BaseModel, store: Storage): Promise<TokenCounter> {
  const prefix = model.storagePrefix.replace(/\/+$/, '');
  const [tokJson, cfgJson, jinja] = await Promise.all([
    readText(store, `${prefix}/tokenizer.json`),
    readText(store, `${prefix}/tokenizer_config.json`),
    readText(store, `${prefix}/chat_template.jinja`),
  ]);
  if (tokJson === null || cfgJson === null) {
    throw new Error(
      `The tokenizer of ${model.id} is not in the object store yet (${prefix}/tokenizer.json); the trainer stages it when it starts. Token counts will be computed once it is there.`,
    );
  }
  const tj = JSON.parse(tokJson) as Record<string, unknown>;
  const cfg = JSON.parse(cfgJson) as Record<string, unknown>;
  let template = cfg.chat_template as unknown;
  if (Array.isArray(template)) template = (template as { name: string; template: string }[]).find((t) => t.name === 'default')?.template;
  if (typeof template !== 'string') template = jinja ?? undefined;
  if (typeof template !== 'string') throw new Error(`The tokenizer of ${model.id} has no chat template.`);
  const specials: Record<string, string> = {};
  for (const k of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) {
    const v = tokenString(cfg[k]);
    if (v !== undefined) specials[k] = v;
  }
  const tok = new Tokenizer(tj, cfg);
  return new TokenCounter(model.id, tok, tj, template, specials, trainingMaxSeqLen(model));
}
