/** OpenAPI paths and schemas of the identity routes (rest/identity.ts), merged into openapi.ts. */
import { actions, apiKeyScopes, roles } from '@edgetune/auth';
import { auditActions } from '../identity/audit';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (schema: unknown) => ({ 'application/json': { schema } });
const ok = (schema: unknown, description = 'OK') => ({ description, content: jsonContent(schema) });
const err = { $ref: '#/components/responses/Error' };
const errors = { '400': err, '401': err, '403': err, '404': err, '429': err };
const list = (item: string, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  required: ['object', 'data'],
  properties: { object: { const: 'list' }, data: { type: 'array', items: ref(item) }, ...extra },
});
const nullableString = { type: ['string', 'null'] };
const time = { type: 'string', format: 'date-time' };

export const identityPaths = {
  '/me': {
    get: {
      operationId: 'getMe',
      summary: 'The caller: user (for a session), organization, role, and what the caller may do (with the reason when not)',
      responses: { '200': ok(ref('Me')), ...errors },
    },
  },
  '/orgs/current/members': {
    get: { operationId: 'listMembers', summary: "Members of the caller's organization", responses: { '200': ok(list('Member')), ...errors } },
  },
  '/orgs/current/invitations': {
    post: {
      operationId: 'createInvitation',
      summary: 'Invite an e-mail address (a link valid for 7 days is e-mailed; owners and admins, or a key with the admin scope)',
      requestBody: {
        required: true,
        content: jsonContent({ type: 'object', required: ['email', 'role'], properties: { email: { type: 'string', format: 'email' }, role: { enum: [...roles] } } }),
      },
      responses: { '201': ok(ref('Invitation'), 'Created'), ...errors, '409': err },
    },
  },
  '/audit-events': {
    get: {
      operationId: 'listAuditEvents',
      summary: "A page of the organization's audit log, newest first (owners and admins)",
      parameters: [
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
        { name: 'before', in: 'query', schema: { type: 'integer' }, description: 'Cursor: `next_cursor` of the previous page.' },
        { name: 'action', in: 'query', schema: { type: 'string' }, description: `Comma-separated actions: ${auditActions.join(', ')}.` },
      ],
      responses: { '200': ok(list('AuditEvent', { has_more: { type: 'boolean' }, next_cursor: { type: ['integer', 'null'] } })), ...errors },
    },
  },
  '/audit-events/export': {
    get: {
      operationId: 'exportAuditEvents',
      summary: 'The whole audit log of the organization, oldest first, streamed (owners and admins)',
      parameters: [{ name: 'format', in: 'query', schema: { enum: ['csv', 'jsonl'], default: 'csv' } }],
      responses: {
        '200': { description: 'CSV with a header line, or JSON Lines', content: { 'text/csv': {}, 'application/jsonl': {} } },
        ...errors,
      },
    },
  },
};

export const identitySchemas = {
  Me: {
    type: 'object',
    properties: {
      object: { const: 'me' },
      user: { oneOf: [{ type: 'null' }, { type: 'object', properties: { id: { type: 'string' }, email: { type: 'string' }, name: nullableString } }] },
      org: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, slug: { type: 'string' } } },
      role: { enum: [...roles] },
      via: { enum: ['session', 'api_key'] },
      scopes: { type: 'array', items: { enum: [...apiKeyScopes] } },
      email_verified: { type: 'boolean' },
      permissions: {
        type: 'object',
        description: `One entry per action: ${actions.join(', ')}.`,
        additionalProperties: { type: 'object', properties: { allowed: { type: 'boolean' }, reason: nullableString } },
      },
      orgs: { type: 'integer', description: 'How many organizations the user belongs to' },
    },
  },
  Member: {
    type: 'object',
    properties: { object: { const: 'member' }, user_id: { type: 'string' }, email: { type: 'string' }, name: nullableString, role: { enum: [...roles] }, joined_at: time },
  },
  Invitation: {
    type: 'object',
    properties: { object: { const: 'invitation' }, id: { type: 'string' }, email: { type: 'string' }, role: { enum: [...roles] }, expires_at: time },
  },
  AuditEvent: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      object: { const: 'audit_event' },
      seq: { type: 'integer' },
      at: time,
      actor: { type: 'object', properties: { user_id: nullableString, key_id: nullableString, label: nullableString } },
      action: { enum: [...auditActions] },
      target: { oneOf: [{ type: 'null' }, { type: 'object', properties: { type: nullableString, id: nullableString } }] },
      outcome: { enum: ['success', 'failure'] },
      ip: nullableString,
      user_agent: nullableString,
      data: { type: ['object', 'null'] },
    },
  },
};
