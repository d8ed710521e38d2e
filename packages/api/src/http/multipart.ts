/**
 * A small streaming multipart/form-data parser: parts are yielded in order and a part's body is
 * streamed (a part must be consumed before the next one is read), so uploads are never buffered
 * whole in memory.
 */
import { DomainError } from '@edgetune/contracts';

export interface MultipartPart {
  name: string;
  filename: string | null;
  contentType: string | null;
  body: AsyncIterable<Buffer>;
}

const MAX_HEADER_BYTES = 16 * 1024;

export function multipartBoundary(contentType: string | null | undefined): string | null {
  if (!contentType || !/^multipart\/form-data/i.test(contentType)) return null;
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]).trim() : null;
}

const malformed = (why: string) => new DomainError('invalid_request', `Malformed multipart body: ${why}.`);

class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private done = false;
  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  /** Reads more bytes into the buffer; false at the end of the stream. */
  async fill(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    const chunk = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    return true;
  }

  get buffer(): Buffer {
    return this.buf;
  }

  consume(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Ensures at least n bytes are buffered (false if the stream ends first). */
  async ensure(n: number): Promise<boolean> {
    while (this.buf.length < n) if (!(await this.fill())) return false;
    return true;
  }
}

/**
 * Browsers and fetch's FormData write `"`, CR and LF in a part's name or filename as %22, %0D and
 * %0A (WHATWG multipart/form-data encoding); anything else is sent as is.
 */
function unescapeFormName(s: string): string {
  return s.replace(/%22|%0D|%0A/gi, (m) => (m === '%22' ? '"' : m.toUpperCase() === '%0D' ? '\r' : '\n'));
}

function parseHeaders(raw: string): { name: string; filename: string | null; contentType: string | null } {
  let name: string | null = null;
  let filename: string | null = null;
  let contentType: string | null = null;
  for (const line of raw.split('\r\n')) {
    const idx = line.indexOf(':');
    if (idx < 0) continue;
    const key = line.slice(0, idx).trim().toLowerCase();
    const value = line.slice(idx + 1).trim();
    if (key === 'content-disposition') {
      const n = /\bname="([^"]*)"/i.exec(value) ?? /\bname=([^;]+)/i.exec(value);
      const fStar = /\bfilename\*=(?:UTF-8'')?([^;]+)/i.exec(value);
      const f = /\bfilename="([^"]*)"/i.exec(value) ?? /\bfilename=([^;]+)/i.exec(value);
      name = n ? n[1] : null;
      if (fStar) {
        try {
          filename = decodeURIComponent(fStar[1].replace(/^"|"$/g, ''));
        } catch {
          throw malformed("a part's filename* is not valid percent-encoded UTF-8");
        }
      } else if (f) filename = unescapeFormName(f[1]);
    } else if (key === 'content-type') contentType = value;
  }
  if (name === null) throw malformed('a part has no name');
  return { name, filename, contentType };
}

/**
 * How many leading bytes of `buf` cannot belong to a delimiter that `buf` holds no whole copy of:
 * all but its longest suffix that is a start of the delimiter. Usually that suffix is empty (the
 * delimiter starts with CR, rare in data), so the buffer empties and the next read needs no
 * copying to join it.
 */
function safeLength(buf: Buffer, delimiter: Buffer): number {
  const from = Math.max(0, buf.length - (delimiter.length - 1));
  for (let i = buf.indexOf(delimiter[0]!, from); i >= 0; i = buf.indexOf(delimiter[0]!, i + 1)) {
    if (buf.subarray(i).equals(delimiter.subarray(0, buf.length - i))) return i;
  }
  return buf.length;
}

export async function* parseMultipart(body: AsyncIterable<Uint8Array>, boundary: string): AsyncGenerator<MultipartPart> {
  const reader = new ByteReader(body[Symbol.asyncIterator]());
  const dashBoundary = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);

  // Preamble: skip to the first boundary.
  for (;;) {
    const i = reader.buffer.indexOf(dashBoundary);
    if (i >= 0) {
      reader.consume(i + dashBoundary.length);
      break;
    }
    if (reader.buffer.length > MAX_HEADER_BYTES) throw malformed('no opening boundary');
    if (!(await reader.fill())) throw malformed('no opening boundary');
  }

  for (;;) {
    // After a boundary: "--" ends the body, CRLF starts a part.
    if (!(await reader.ensure(2))) throw malformed('unexpected end');
    const tail = reader.consume(2).toString('latin1');
    if (tail === '--') return;
    if (tail !== '\r\n') throw malformed('bad boundary line');

    let headerEnd: number;
    while ((headerEnd = reader.buffer.indexOf('\r\n\r\n')) < 0) {
      if (reader.buffer.length > MAX_HEADER_BYTES) throw malformed('part headers too large');
      if (!(await reader.fill())) throw malformed('unexpected end in part headers');
    }
    const headers = parseHeaders(reader.consume(headerEnd).toString('utf8'));
    reader.consume(4);

    let finished = false;
    async function* partBody(): AsyncGenerator<Buffer> {
      for (;;) {
        const i = reader.buffer.indexOf(delimiter);
        if (i >= 0) {
          // Views, not copies: no buffer is ever written to after it was read.
          if (i > 0) yield reader.consume(i);
          reader.consume(delimiter.length);
          finished = true;
          return;
        }
        // Emit all but a tail that could be the start of the delimiter.
        const safe = safeLength(reader.buffer, delimiter);
        if (safe > 0) yield reader.consume(safe);
        if (!(await reader.fill())) throw malformed('unexpected end in a part');
      }
    }
    const bodyIt = partBody();
    yield { ...headers, body: bodyIt };
    // Drain whatever the consumer left unread.
    if (!finished) for await (const _ of bodyIt) void _;
    if (!finished) throw malformed('unexpected end in a part');
  }
}

export async function readText(body: AsyncIterable<Buffer>, max = 64 * 1024, tooLarge = () => new DomainError('invalid_request', 'A form field is too large.')): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > max) throw tooLarge();
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}
