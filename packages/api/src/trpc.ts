/**
 * tRPC setup, create-t3-turbo style: context, then procedure builders made of middleware.
 *   publicProcedure    – anyone
 *   protectedProcedure – a signed-in session user
 *   orgProcedure       – a resolved caller (session user in their org, or an API key);
 *                        `orgProcedure.meta({ action })` or `requirePermission(action)` checks can()
 */
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { z } from 'zod';
import type { Action } from '@edgetune/auth';
import { DomainError } from '@edgetune/contracts';
import { resolveCaller } from './context';
import { isDomainError, trpcCodeFor } from './errors';
import { logger } from './logger';
import { authorize, type Caller } from './tenant';

export interface CreateContextOptions {
  sessionUserId: string | null;
  headers: Headers;
}

export async function createTRPCContext(opts: CreateContextOptions) {
  return {
    sessionUserId: opts.sessionUserId,
    authorization: opts.headers.get('authorization'),
    headers: opts.headers,
  };
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
  const caller = await resolveCaller({ sessionUserId: ctx.sessionUserId, authorization: ctx.authorization });
  if (!caller) {
    throw new DomainError('unauthenticated', ctx.sessionUserId ? 'Your account is not a member of any organization.' : 'You must be signed in.');
  }
  return next({ ctx: { ...ctx, caller } });
});

/** orgProcedure that also requires a permission up front (domain functions check again). */
export function requirePermission(action: Action) {
  return orgProcedure.use(({ ctx, next }) => {
    authorize(ctx.caller as Caller, action);
    return next();
  });
}
