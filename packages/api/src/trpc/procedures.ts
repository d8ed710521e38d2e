/**
 * tRPC setup, create-t3-turbo style: context, then procedure builders made of middleware.
 *   publicProcedure    – anyone
 *   protectedProcedure – a signed-in session user
 *   orgProcedure       – a resolved caller (session user in their org, or an API key);
 *                        permissions are checked by the domain functions (authorize)
 */
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { z } from 'zod';
import { requestMeta, retryAfterSecondsOf } from '@edgetune/auth';
import { loadConfig } from '@edgetune/config';
import { DomainError } from '@edgetune/contracts';
import { orgCookie, requireCaller } from '../context';
import { isDomainError, trpcCodeFor } from '../errors';
import { logger } from '../logger';

export interface CreateContextOptions {
  sessionUserId: string | null;
  headers: Headers;
  /** Response headers (the fetch adapter's `resHeaders`): procedures set the `et_org` cookie here. */
  resHeaders?: Headers;
}

export async function createTRPCContext(opts: CreateContextOptions) {
  return {
    sessionUserId: opts.sessionUserId,
    authorization: opts.headers.get('authorization'),
    headers: opts.headers,
    resHeaders: opts.resHeaders ?? null,
    meta: requestMeta(opts.headers),
  };
}

/** Makes `orgId` this browser's active organization (null clears the choice). */
export function setActiveOrgCookie(ctx: { resHeaders: Headers | null }, orgId: string | null): void {
  ctx.resHeaders?.append('set-cookie', orgCookie(orgId, loadConfig().PUBLIC_URL.startsWith('https:')));
}

export type TRPCContext = Awaited<ReturnType<typeof createTRPCContext>>;

const t = initTRPC.context<TRPCContext>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    const domain = isDomainError(cause) ? cause : null;
    return {
      ...shape,
      data: {
        ...shape.data,
        stack: undefined,
        domainCode: domain?.code ?? null,
        retryAfterSeconds: retryAfterSecondsOf(domain),
        param: domain?.param ?? null,
        details: domain?.details ?? [],
        zodError: cause instanceof z.ZodError ? cause.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) : null,
      },
    };
  },
});

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Maps DomainErrors thrown anywhere below to TRPCErrors with the matching code. */
const domainErrors = t.middleware(async ({ next, path }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    if (isDomainError(cause)) {
      throw new TRPCError({ code: trpcCodeFor[cause.code], message: cause.message, cause });
    }
    if (result.error.code === 'INTERNAL_SERVER_ERROR') {
      logger.error({ err: result.error.cause ?? result.error, path }, 'trpc procedure failed');
      throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'The server had an error while processing your request.', cause: result.error.cause });
    }
  }
  return result;
});

export const publicProcedure = t.procedure.use(domainErrors);

export const protectedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.sessionUserId) throw new DomainError('unauthenticated', 'You must be signed in.');
  return next({ ctx: { ...ctx, sessionUserId: ctx.sessionUserId } });
});

export const orgProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const caller = await requireCaller({ sessionUserId: ctx.sessionUserId, authorization: ctx.authorization, headers: ctx.headers }, 'You must be signed in.');
  return next({ ctx: { ...ctx, caller } });
});
