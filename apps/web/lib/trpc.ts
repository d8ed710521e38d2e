'use client';
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from '@edgetune/api';
import type { ErrorDetail } from '@edgetune/contracts';

/** The portal's tRPC client; the session cookie travels with every request. */
export const trpc = createTRPCClient<AppRouter>({
  links: [httpBatchLink({ url: '/api/trpc', transformer: superjson })],
});

/** The messages of `details` that `message` does not already say (the api names the first one in it). */
export function unsaidDetails(message: string, details: readonly ErrorDetail[] | null | undefined): string[] {
  return (details ?? []).map((d) => d.message).filter((m) => m && !message.includes(m));
}

/**
 * A message fit to show, with per-field details when the api gave them. A tRPC input that fails
 * its zod schema comes with a message that is the issues as JSON: say them as sentences instead.
 */
export function errorMessage(e: unknown): string {
  if (e instanceof TRPCClientError) {
    const data = (e as TRPCClientError<AppRouter>).data;
    if (data?.zodError?.length) return data.zodError.map((i) => (i.path ? `Invalid '${i.path}': ${i.message}` : i.message)).join(' ');
    return [e.message, ...unsaidDetails(e.message, data?.details)].join(' ');
  }
  return e instanceof Error ? e.message : String(e);
}

/** The api's error code ('quota_exceeded', 'forbidden', …) of a failed call, when it gave one. */
export function errorCode(e: unknown): string | null {
  return e instanceof TRPCClientError ? ((e as TRPCClientError<AppRouter>).data?.domainCode ?? null) : null;
}
