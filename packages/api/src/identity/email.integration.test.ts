import '../testing/env';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { db, schema } from '@edgetune/db';
import { newOrg, uniqueEmail, useDatabase } from '../testing/fixtures';
import { listOutbox } from './email';
import { registerAccount } from './self-service';
import { createInvitation } from './invitations';

/** A minimal SMTP server on loopback: records what nodemailer delivers; `reject` refuses senders. */
const sink = { messages: [] as string[], reject: false };
const server = createServer((sock) => {
  let buf = '';
  let inData = false;
  sock.write('220 sink ESMTP\r\n');
  sock.on('data', (chunk) => {
    buf += chunk.toString('utf8');
    for (;;) {
      if (inData) {
        const end = buf.indexOf('\r\n.\r\n');
        if (end < 0) return;
        sink.messages.push(buf.slice(0, end));
        buf = buf.slice(end + 5);
        inData = false;
        sock.write('250 OK queued\r\n');
        continue;
      }
      const i = buf.indexOf('\r\n');
      if (i < 0) return;
      const cmd = buf.slice(0, 4).toUpperCase();
      buf = buf.slice(i + 2);
      if (cmd === 'EHLO' || cmd === 'HELO') sock.write('250 sink\r\n');
      else if (cmd === 'MAIL') sock.write(sink.reject ? '550 sender refused by test\r\n' : '250 OK\r\n');
      else if (cmd === 'RCPT' || cmd === 'RSET' || cmd === 'NOOP') sock.write('250 OK\r\n');
      else if (cmd === 'DATA') {
        inData = true;
        sock.write('354 go ahead\r\n');
      } else if (cmd === 'QUIT') sock.end('221 bye\r\n');
      else sock.write('502 not implemented\r\n');
    }
  });
  sock.on('error', () => undefined);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
// Read by loadConfig on first use, which comes after this line.
process.env.SMTP_URL = `smtp://127.0.0.1:${(server.address() as { port: number }).port}`;
after(() => server.close());

useDatabase();

test('with SMTP_URL, mail goes out by SMTP and only its envelope is kept', async () => {
  const { caller } = await newOrg('smtp');
  const to = uniqueEmail('smtpinv');
  const inv = await createInvitation(caller, { email: to, role: 'member' });
  const msg = sink.messages.find((m) => m.includes(to));
  assert.ok(msg, 'delivered to the SMTP server');
  const token = /\/invite\/([A-Za-z0-9_-]{43})/.exec(msg.replace(/=\r\n/g, ''))?.[1];
  assert.ok(token, 'the message carries the invitation link');
  const [row] = await listOutbox({ to });
  assert.equal(row.transport, 'smtp');
  assert.ok(row.sentAt);
  assert.ok(!row.text.includes(token), 'the link is not kept in the database');
  assert.equal((await db().select().from(schema.invitations).where(eq(schema.invitations.id, inv.id))).length, 1);
});

test('an SMTP failure leaves no invitation behind; sign-up still succeeds and records the failure', async () => {
  const { caller, orgId } = await newOrg('smtpfail');
  sink.reject = true;
  try {
    const to = uniqueEmail('refused');
    await assert.rejects(createInvitation(caller, { email: to, role: 'viewer' }), (e: Error & { code?: string }) => e.code === 'unavailable' && e.message.includes(to));
    assert.equal((await db().select().from(schema.invitations).where(eq(schema.invitations.orgId, orgId))).length, 0, 'nothing half-created');
    const [failed] = await listOutbox({ to });
    assert.match(failed.error ?? '', /550/);

    const email = uniqueEmail('smtpsignup');
    const r = await registerAccount({ email, password: 'correct horse battery' });
    assert.equal(r.user.email, email);
    const [mail] = await listOutbox({ to: email });
    assert.equal(mail.kind, 'verify_email');
    assert.ok(mail.error);
  } finally {
    sink.reject = false;
  }
});
