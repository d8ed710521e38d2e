/** `/api/v1` routes of identity: who am I, members, invitations, the audit log. */
import { me } from '../identity/accounts';
import { exportAudit, listAudit, parseExportFormat } from '../identity/audit';
import { createInvitation } from '../identity/invitations';
import { listMembers } from '../identity/members';
import type { Route } from '../http/routes';
import { attachment, intParam, json, readJson } from '../http/util';
import { restAuditEvent, restInvitation, restMe, restMember } from './views';

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

export const identityRoutes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/me$/,
    run: async (c) => {
      const m = await me(c);
      return json(restMe(m));
    },
  },
  {
    method: 'GET',
    pattern: /^\/orgs\/current\/members$/,
    run: async (c) =>
      json({
        object: 'list',
        data: (await listMembers(c)).map(restMember),
      }),
  },
  {
    method: 'POST',
    pattern: /^\/orgs\/current\/invitations$/,
    run: async (c, req) => {
      const body = await readJson(req);
      const inv = await createInvitation(c, { email: body.email, role: body.role });
      return json(restInvitation(inv), 201);
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
