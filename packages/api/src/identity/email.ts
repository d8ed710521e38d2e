/**
 * Outgoing e-mail. With SMTP_URL set, messages go out through nodemailer and only their envelope
 * is kept; without it (the embedded default) the whole message lands in the `emails` table, the
 * outbox the operator reads with `npm run admin -- outbox`. Bodies carry one-time links, so they
 * are never logged.
 */
import { desc, sql } from 'drizzle-orm';
import nodemailer, { type Transporter } from 'nodemailer';
import { loadConfig } from '@edgetune/config';
import { DomainError, newId } from '@edgetune/contracts';
import { db, schema, type Db } from '@edgetune/db';
import { logger } from '../logger';

export type EmailKind = 'verify_email' | 'reset_password' | 'invitation';

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  html?: string | null;
  kind: EmailKind;
}

export type EmailRow = typeof schema.emails.$inferSelect;

let transporter: { url: string; t: Transporter } | null = null;
function smtp(url: string): Transporter {
  if (transporter?.url !== url) transporter = { url, t: nodemailer.createTransport(url) };
  return transporter.t;
}

/** The public URL of a portal page (links in e-mails). */
export function portalUrl(pathAndQuery: string): string {
  return `${loadConfig().PUBLIC_URL.replace(/\/+$/, '')}${pathAndQuery}`;
}

/**
 * Sends (or stores) one message. `tx`: the outbox row is written in the caller's transaction, and
 * an SMTP failure throws so that the caller's transaction rolls back what the mail was about.
 */
export async function sendEmail(msg: OutgoingEmail, tx?: Db): Promise<{ id: string; transport: 'outbox' | 'smtp' }> {
  const { SMTP_URL, EMAIL_FROM } = loadConfig();
  const id = newId('email');
  const row = { id, to: msg.to, subject: msg.subject, kind: msg.kind, createdAt: new Date() };
  if (!SMTP_URL) {
    try {
      await (tx ?? db()).insert(schema.emails).values({ ...row, text: msg.text, html: msg.html ?? null, transport: 'outbox', sentAt: row.createdAt });
    } catch (e) {
      // A failed query's message lists its parameters, which include the body's one-time link.
      throw new Error(`Storing the e-mail in the outbox failed: ${(e as { cause?: Error }).cause?.message ?? 'database error'}`);
    }
    return { id, transport: 'outbox' };
  }
  // The body's one-time link must not outlive its delivery in our database.
  const kept = { ...row, text: '(delivered by SMTP; body not kept)', html: null, transport: 'smtp' as const };
  try {
    await smtp(SMTP_URL).sendMail({ from: EMAIL_FROM, to: msg.to, subject: msg.subject, text: msg.text, html: msg.html ?? undefined });
  } catch (e) {
    const error = (e as Error)?.message?.slice(0, 500) ?? 'unknown error';
    logger.error({ emailId: id, kind: msg.kind, err: error }, 'sending e-mail failed');
    await db().insert(schema.emails).values({ ...kept, error }).catch(() => undefined);
    throw new DomainError('unavailable', `Could not send the e-mail to ${msg.to}: ${error}`);
  }
  await (tx ?? db()).insert(schema.emails).values({ ...kept, sentAt: new Date() });
  return { id, transport: 'smtp' };
}

/** Messages newest first, the outbox's with their bodies (operator only: the admin CLI). */
export async function listOutbox(opts: { to?: string | null; limit?: number } = {}): Promise<EmailRow[]> {
  const limit = Math.min(Math.max(opts.limit ?? 20, 1), 1000);
  return db()
    .select()
    .from(schema.emails)
    .where(opts.to ? sql`lower(${schema.emails.to}) = ${opts.to.trim().toLowerCase()}` : undefined)
    .orderBy(desc(schema.emails.createdAt), desc(schema.emails.id))
    .limit(limit);
}
