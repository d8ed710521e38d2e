/** `/api/v1` routes of identity: who am I, members, invitations, the audit log. */
import { me } from '../identity/accounts';
import { exportAudit, listAudit, parseExportFormat, type AuditView } from '../identity/audit';
import { createInvitation } from '../identity/invitations';
import { listMembers } from '../identity/members';
import type { Route } from '../http/routes';
import { attachment, intParam, json, readJson } from '../http/util';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** Lines of text as a response body, pulled one at a time (the client's pace sets the reads). */
function textStream(lines: AsyncGenerator<string>): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      const r = await lines.next();
      if (r.done) ctrl.close();
      else ctrl.enqueue(enc.encode(r.value));
    },
    async cancel() {
      await lines.return(undefined);
    },
  });
}

export function restAuditEvent(e: AuditView) {
  return {
    id: e.id,
    object: 'audit_event' as const,
    seq: e.seq,
    at: iso(e.at),
    actor: { user_id: e.actor.userId, key_id: e.actor.keyId, label: e.actor.label },
    action: e.action,
    target: e.target,
    outcome: e.outcome,
    ip: e.ip,
    user_agent: e.userAgent,
    data: e.data,
  };
}

export const identityRoutes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/me$/,
    run: async (c) => {
      const m = await me(c);
      return json({ object: 'me', user: m.user, org: m.org, role: m.role, via: m.via, scopes: m.scopes, email_verified: m.emailVerified, permissions: m.permissions, orgs: m.orgs });
    },
  },
  {
    method: 'GET',
    pattern: /^\/orgs\/current\/members$/,
    run: async (c) =>
      json({
        object: 'list',
        data: (await listMembers(c)).map((m) => ({ object: 'member', user_id: m.userId, email: m.email, name: m.name, role: m.role, joined_at: iso(m.joinedAt) })),
      }),
  },
  {
    method: 'POST',
    pattern: /^\/orgs\/current\/invitations$/,
    run: async (c, req) => {
      const body = await readJson(req);
      const inv = await createInvitation(c, { email: body.email, role: body.role });
      return json({ object: 'invitation', id: inv.id, email: inv.email, role: inv.role, expires_at: iso(inv.expiresAt) }, 201);
    },
  },
  {
    method: 'GET',
    pattern: /^\/audit-events$/,
    run: async (c, _r, url) => {
      const page = await listAudit(c, { limit: intParam(url, 'limit'), before: url.searchParams.get('before'), action: url.searchParams.get('action') });
      return json({ object: 'list', data: page.data.map(restAuditEvent), next_cursor: page.nextCursor, has_more: page.nextCursor !== null });
    },
  },
  {
    method: 'GET',
    pattern: /^\/audit-events\/export$/,
    run: async (c, _r, url) => {
      const format = parseExportFormat(url.searchParams.get('format'));
      const lines = exportAudit(c, format);
      const day = new Date().toISOString().slice(0, 10);
      return new Response(textStream(lines), {
        headers: {
          'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/jsonl; charset=utf-8',
          'content-disposition': attachment(`audit-${c.orgId}-${day}.${format}`),
          'cache-control': 'no-store',
        },
      });
    },
  },
];
