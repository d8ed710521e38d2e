/**
 * Enterprise single sign-on: the next-auth providers the operator configured (GitHub, Google,
 * any OpenID Connect issuer) and the rule that decides which of our users an external account
 * signs in as — only ever by an e-mail address the provider itself reports as verified.
 */
import type { Account, Profile, User } from 'next-auth';
import type { OAuthConfig } from 'next-auth/providers/oauth';
import GitHubImport from 'next-auth/providers/github';
import GoogleImport from 'next-auth/providers/google';
import { createLogger, loadConfig, type Config, type Logger } from '@edgetune/config';
import { requestMeta, type RequestMeta } from './request';
import { recordSignIn } from './signin';

// next-auth ships CommonJS; under ESM the provider factory may arrive wrapped in `default`.
const unwrap = <T>(m: T): T => ((m as unknown as { default?: T }).default ?? m) as T;
const GitHub = unwrap(GitHubImport);
const Google = unwrap(GoogleImport);

export type SsoProviderId = 'github' | 'google' | 'oidc';

/** What the sign-in page needs to draw a button. */
export interface SsoProviderInfo {
  id: SsoProviderId;
  name: string;
}

/** An external account whose e-mail address its provider vouches for. */
export interface SsoIdentity {
  provider: SsoProviderId;
  providerAccountId: string;
  email: string;
  name: string | null;
}

/** Our user an external account signs in as. */
export interface SsoUser {
  id: string;
  email: string;
  name: string | null;
}

/**
 * Finds or creates the user for a verified external identity and records the link. It lives
 * in packages/api (it creates organizations, as sign-up does), which depends on this package,
 * so the web app hands it over with `setSsoAccountLinker` where it mounts next-auth.
 */
export type SsoAccountLinker = (identity: SsoIdentity) => Promise<SsoUser>;

/** next-auth error codes of refused SSO sign-ins (shown as text by the sign-in page). */
export const ssoErrors = {
  EmailUnverified: 'SsoEmailUnverified',
  NoEmail: 'SsoNoEmail',
  Failed: 'SsoFailed',
} as const;

/** The providers whose variables are all set, in the order the sign-in page shows them. */
export function ssoProviderInfo(config: Config = loadConfig()): SsoProviderInfo[] {
  const out: SsoProviderInfo[] = [];
  if (config.GITHUB_CLIENT_ID && config.GITHUB_CLIENT_SECRET) out.push({ id: 'github', name: 'GitHub' });
  if (config.GOOGLE_CLIENT_ID && config.GOOGLE_CLIENT_SECRET) out.push({ id: 'google', name: 'Google' });
  if (config.OIDC_ISSUER && config.OIDC_CLIENT_ID && config.OIDC_CLIENT_SECRET) out.push({ id: 'oidc', name: config.OIDC_NAME });
  return out;
}

/** The issuer without a trailing slash, so that discovery URLs are formed one way. */
function issuerBase(config: Config): string {
  return (config.OIDC_ISSUER ?? '').replace(/\/+$/, '');
}

type Claims = Record<string, unknown>;

/** next-auth v4 providers for every configured SSO provider (none when nothing is configured). */
export function ssoProviders(config: Config = loadConfig()): OAuthConfig<Claims>[] {
  const out: OAuthConfig<Claims>[] = [];
  for (const p of ssoProviderInfo(config)) {
    if (p.id === 'github') {
      out.push(GitHub({ clientId: config.GITHUB_CLIENT_ID!, clientSecret: config.GITHUB_CLIENT_SECRET! }) as unknown as OAuthConfig<Claims>);
    } else if (p.id === 'google') {
      out.push(Google({ clientId: config.GOOGLE_CLIENT_ID!, clientSecret: config.GOOGLE_CLIENT_SECRET! }) as unknown as OAuthConfig<Claims>);
    } else {
      out.push({
        id: 'oidc',
        name: p.name,
        type: 'oauth',
        wellKnown: `${issuerBase(config)}/.well-known/openid-configuration`,
        authorization: { params: { scope: 'openid email profile' } },
        idToken: true,
        checks: ['pkce', 'state'],
        clientId: config.OIDC_CLIENT_ID!,
        clientSecret: config.OIDC_CLIENT_SECRET!,
        profile(claims) {
          const str = (v: unknown) => (typeof v === 'string' && v ? v : null);
          return {
            id: String(claims.sub),
            name: str(claims.name) ?? str(claims.preferred_username),
            email: str(claims.email),
            image: str(claims.picture),
          };
        },
      });
    }
  }
  return out;
}

/** A refused SSO sign-in; `code` is one of `ssoErrors`. */
export class SsoRefusedError extends Error {
  constructor(
    readonly code: (typeof ssoErrors)[keyof typeof ssoErrors],
    message: string,
    /** The address the provider named, for the audit log. */
    readonly email: string | null = null,
  ) {
    super(message);
  }
}

interface GitHubEmail {
  email: string;
  primary: boolean;
  verified: boolean;
}

async function getJson(url: string, accessToken: string, what: string): Promise<unknown> {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/json', 'User-Agent': 'edgetune' } });
  if (!res.ok) throw new SsoRefusedError(ssoErrors.Failed, `${what} answered HTTP ${res.status}.`);
  return res.json();
}

/**
 * GitHub's profile e-mail is whatever the user typed; only /user/emails says whether GitHub
 * verified it. The profile's address wins when verified, else the verified primary one.
 */
async function githubVerifiedEmail(account: Account, profileEmail: string | null): Promise<string | null> {
  if (!account.access_token) return null;
  const emails = (await getJson('https://api.github.com/user/emails', account.access_token, 'GitHub /user/emails')) as GitHubEmail[];
  const verified = Array.isArray(emails) ? emails.filter((e) => e.verified && typeof e.email === 'string') : [];
  const same = profileEmail ? verified.find((e) => e.email.toLowerCase() === profileEmail.toLowerCase()) : undefined;
  return (same ?? verified.find((e) => e.primary))?.email ?? null;
}

let discovered: { issuer: string; userinfo: string | null } | null = null;

/**
 * Most issuers put `email` and `email_verified` into the ID token; the OpenID spec lets them
 * answer scope claims only at the userinfo endpoint instead (oidc-provider does), so ask there
 * when the token lacks them. The answer must be about the same subject.
 */
async function oidcEmailClaims(config: Config, account: Account, claims: Claims): Promise<Claims> {
  if (typeof claims.email === 'string' && typeof claims.email_verified === 'boolean') return claims;
  if (!account.access_token) return claims;
  const issuer = issuerBase(config);
  if (discovered?.issuer !== issuer) {
    const doc = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { userinfo_endpoint?: string };
    discovered = { issuer, userinfo: doc.userinfo_endpoint ?? null };
  }
  if (!discovered.userinfo) return claims;
  const info = (await getJson(discovered.userinfo, account.access_token, 'The OIDC userinfo endpoint')) as Claims;
  if (info.sub !== claims.sub) throw new SsoRefusedError(ssoErrors.Failed, 'The OIDC userinfo endpoint answered for another subject.');
  return { ...claims, ...info };
}

/**
 * The identity an OAuth sign-in proves, or a refusal: the e-mail must be one the provider
 * verified (OIDC and Google: `email_verified` true; GitHub: verified in /user/emails).
 */
export async function verifiedSsoIdentity(account: Account, profile: Profile | undefined, user?: User, config: Config = loadConfig()): Promise<SsoIdentity> {
  const provider = account.provider as SsoProviderId;
  const claims = (profile ?? {}) as Claims;
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null);
  let email: string | null;
  let verified: boolean;
  let full = claims;
  if (provider === 'github') {
    email = await githubVerifiedEmail(account, str(user?.email) ?? str(claims.email));
    verified = !!email;
  } else if (provider === 'google' || provider === 'oidc') {
    if (provider === 'oidc') full = await oidcEmailClaims(config, account, claims);
    email = str(full.email);
    // Some issuers send the claim as the string "true".
    verified = full.email_verified === true || full.email_verified === 'true';
  } else {
    throw new SsoRefusedError(ssoErrors.Failed, `Unknown sign-in provider "${account.provider}".`);
  }
  if (!email) {
    if (provider === 'github') throw new SsoRefusedError(ssoErrors.EmailUnverified, 'Your GitHub account has no verified e-mail address.');
    throw new SsoRefusedError(ssoErrors.NoEmail, 'The identity provider did not share an e-mail address.');
  }
  if (!verified) throw new SsoRefusedError(ssoErrors.EmailUnverified, `The identity provider has not verified ${email}.`, email.toLowerCase());
  const name = str(user?.name) ?? str(full.name) ?? str(full.login) ?? str(full.preferred_username);
  return { provider, providerAccountId: account.providerAccountId, email: email.toLowerCase(), name };
}

let linker: SsoAccountLinker | null = null;
let log: Logger | null = null;
const logger = () => (log ??= createLogger('auth'));

/** Installs the function that links identities to users (see `SsoAccountLinker`). */
export function setSsoAccountLinker(fn: SsoAccountLinker): void {
  linker = fn;
}

/** Our user for an OAuth sign-in: verifies the e-mail, then links or creates the account. */
export async function resolveSsoUser(account: Account, profile: Profile | undefined, user?: User): Promise<SsoUser> {
  const identity = await verifiedSsoIdentity(account, profile, user);
  if (!linker) throw new Error('SSO sign-in before setSsoAccountLinker() was called; the web app installs it where next-auth is mounted.');
  return linker(identity);
}

/**
 * next-auth `signIn` callback part for OAuth providers: true after pointing `user.id` at our
 * user (next-auth passes the same object on to the `jwt` callback, which stores it as `uid`),
 * or the sign-in page URL with the refusal's code.
 */
export async function ssoSignIn(params: { user: User; account: Account | null; profile?: Profile }): Promise<true | string> {
  const { user, account, profile } = params;
  if (account?.type !== 'oauth') return true;
  const meta = await currentRequestMeta();
  const method = `sso:${account.provider}`;
  try {
    const ours = await resolveSsoUser(account, profile, user);
    user.id = ours.id;
    user.email = ours.email;
    user.name = ours.name ?? user.name ?? null;
    await recordSignIn(ours, ours.email, meta, 'success', undefined, method);
    return true;
  } catch (e) {
    const code = e instanceof SsoRefusedError ? e.code : ssoErrors.Failed;
    if (!(e instanceof SsoRefusedError)) logger().error({ provider: account.provider, err: (e as Error).message }, 'SSO sign-in failed');
    const email = (e instanceof SsoRefusedError && e.email) || user.email || '';
    await recordSignIn(null, email, meta, 'failure', code, method).catch((err: Error) => logger().error({ err: err.message }, 'could not record a refused SSO sign-in'));
    return `/signin?error=${code}`;
  }
}

/** Where the sign-in request came from; next-auth v4 hands its callbacks no request. */
async function currentRequestMeta(): Promise<RequestMeta> {
  try {
    const { headers } = await import('next/headers');
    return requestMeta(await headers());
  } catch {
    // Outside a Next.js request (unit tests).
    return { ip: null, userAgent: null };
  }
}
