import assert from 'node:assert/strict';
import { test } from 'node:test';
import { multipartBoundary, parseMultipart, readText } from './multipart';

async function* chunks(buf: Buffer, size: number) {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

test('parses fields and a file in any chunking', async () => {
  const fd = new FormData();
  const content = '{"messages":[{"role":"user","content":"hi"}]}\n'.repeat(50) + '--tricky\r\n--';
  fd.append('file', new Blob([content]), 'train.jsonl');
  fd.append('purpose', 'fine-tune');
  const req = new Request('http://x/', { method: 'POST', body: fd });
  const boundary = multipartBoundary(req.headers.get('content-type'))!;
  const raw = Buffer.from(await req.arrayBuffer());
  for (const size of [1, 2, 3, 5, 7, 11, 13, 17, 31, 64, 100_000]) {
    const got: Record<string, string> = {};
    let filename: string | null = null;
    for await (const part of parseMultipart(chunks(raw, size), boundary)) {
      got[part.name] = await readText(part.body, 1e7);
      if (part.name === 'file') filename = part.filename;
    }
    assert.equal(got.file, content, `chunk size ${size}`);
    assert.equal(got.purpose, 'fine-tune');
    assert.equal(filename, 'train.jsonl');
  }
});

test('boundary is read from the content type', () => {
  assert.equal(multipartBoundary('multipart/form-data; boundary=abc'), 'abc');
  assert.equal(multipartBoundary('multipart/form-data; boundary="a b"'), 'a b');
  assert.equal(multipartBoundary('application/json'), null);
});

test('truncated body is an error', async () => {
  const raw = Buffer.from('--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc');
  await assert.rejects(async () => {
    for await (const part of parseMultipart(chunks(raw, 3), 'b')) await readText(part.body);
  }, /Malformed multipart/);
});

test('file names come back as the client named them: quotes, non-ASCII, filename*', async () => {
  for (const name of ['数据.jsonl', 'a "quoted" name.jsonl', 'ü %20 literal.jsonl']) {
    const fd = new FormData();
    fd.append('file', new Blob(['x']), name);
    const req = new Request('http://x/', { method: 'POST', body: fd });
    const raw = Buffer.from(await req.arrayBuffer());
    for await (const part of parseMultipart(chunks(raw, 64), multipartBoundary(req.headers.get('content-type'))!)) {
      assert.equal(part.filename, name);
      await readText(part.body);
    }
  }
  const star = Buffer.from("--b\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''%E6%95%B0.jsonl\r\n\r\nx\r\n--b--");
  for await (const part of parseMultipart(chunks(star, 64), 'b')) {
    assert.equal(part.filename, '数.jsonl');
    await readText(part.body);
  }
  const bad = Buffer.from("--b\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''%E6%95\r\n\r\nx\r\n--b--");
  await assert.rejects(async () => {
    for await (const part of parseMultipart(chunks(bad, 64), 'b')) await readText(part.body);
  }, /filename\* is not valid percent-encoded UTF-8/);
});
