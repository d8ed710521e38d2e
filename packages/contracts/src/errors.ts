import { z } from 'zod';

/**
 * Typed domain errors with stable codes. Adapters (tRPC, REST, OpenAI) map `code` to their own
 * status / error shape; the message is safe to show to the caller.
 */
export const errorCodes = {
  invalid_request: 400,
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  /** A plan's quota or the organization's spending cap would be passed. */
  quota_exceeded: 402,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface ErrorDetail {
  /** 1-based line of an uploaded file, when the error is about one. */
  line?: number;
  /** The field (JSON path) at fault. */
  field?: string;
  message: string;
}

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly param: string | null;
  readonly details: ErrorDetail[];

  constructor(code: ErrorCode, message: string, opts: { param?: string | null; details?: ErrorDetail[] } = {}) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.param = opts.param ?? null;
    this.details = opts.details ?? [];
  }

  get httpStatus(): number {
    return errorCodes[this.code];
  }
}

/** A domain error as stored on a row (a failed job, a failed upload) and shown to its owner. */
export const storedErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  param: z.string().nullable(),
  details: z.array(z.object({ line: z.number().optional(), field: z.string().optional(), message: z.string() })).optional(),
});
export type StoredError = z.infer<typeof storedErrorSchema>;
