'use client';
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from '@edgetune/api';

/** The portal's tRPC client; the session cookie travels with every request. */
export const trpc = createTRPCClient<AppRouter>({
  links: [httpBatchLink({ url: '/api/trpc', transformer: superjson })],
});

/** A message fit to show, with per-line details when the api gave them. */
export function errorMessage(e: unknown): string {
  if (e instanceof TRPCClientError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
