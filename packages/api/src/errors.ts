import type { z } from 'zod';
import { DomainError, type ErrorCode } from '@edgetune/contracts';

export type TRPCCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'PAYMENT_REQUIRED'
  | 'TOO_MANY_REQUESTS'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

export const trpcCodeFor: Record<ErrorCode, TRPCCode> = {
  invalid_request: 'BAD_REQUEST',
  validation_failed: 'BAD_REQUEST',
  unauthenticated: 'UNAUTHORIZED',
  forbidden: 'FORBIDDEN',
  not_found: 'NOT_FOUND',
  conflict: 'CONFLICT',
  payload_too_large: 'PAYLOAD_TOO_LARGE',
  quota_exceeded: 'PAYMENT_REQUIRED',
  rate_limited: 'TOO_MANY_REQUESTS',
  unavailable: 'SERVICE_UNAVAILABLE',
  internal: 'INTERNAL_SERVER_ERROR',
};

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError || (e instanceof Error && e.name === 'DomainError' && typeof (e as DomainError).code === 'string');
}

/** Any thrown value as a DomainError; unknown errors become `internal` with a safe message. */
export function toDomainError(e: unknown): DomainError {
  if (isDomainError(e)) return e;
  return new DomainError('internal', 'The server had an error while processing your request.');
}

/** Turns a zod error into a DomainError naming the first bad field. */
export function zodToDomain(err: z.ZodError, prefix = ''): DomainError {
  const issue = err.issues[0];
  const param = [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || null;
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `Unrecognized parameter(s): ${(issue as { keys: string[] }).keys.join(', ')}.`;
  return new DomainError('invalid_request', param ? `Invalid '${param}': ${message}` : message, {
    param,
    details: err.issues.map((i) => ({ field: [prefix, ...i.path.map(String)].filter(Boolean).join('.'), message: i.message })),
  });
}

/** Validates a request body with `schema`, or throws the DomainError naming the first bad field. */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown, prefix = ''): z.output<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw zodToDomain(parsed.error, prefix);
  return parsed.data;
}
