/**
 * A real OpenID Connect provider (the `oidc-provider` package) on loopback, so that SSO is
 * tested end to end: discovery, authorization code + PKCE, signed ID tokens, userinfo.
 *
 * Accounts: every e-mail address is one (type it as the login, any password). Addresses whose
 * local part starts with "unverified" carry `email_verified: false`, all others `true` — the two
 * kinds of account the sign-in rules treat differently. The client is first-party, so no
 * consent screen follows the login.
 *
 * Module: `startOidcTestProvider({ port, redirectUris })` → `{ issuer, clientId, clientSecret, stop() }`.
 * CLI:    `tsx infra/oidc-test-provider.ts --port 3229 --redirect http://127.0.0.1:3000/api/auth/callback/oidc`
 *         prints the OIDC_* variables for the web app and runs until interrupted.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

export interface OidcTestProviderOptions {
  port: number;
  host?: string;
  /** Where the provider may send users back, e.g. `<PUBLIC_URL>/api/auth/callback/oidc`. */
  redirectUris: string[];
  clientId?: string;
  clientSecret?: string;
}

export interface OidcTestProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET for the web app's environment. */
  env: Record<'OIDC_ISSUER' | 'OIDC_CLIENT_ID' | 'OIDC_CLIENT_SECRET', string>;
  stop(): Promise<void>;
}

const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The claims of the test account behind a login; undefined when the login is no e-mail address. */
export function testAccountClaims(login: string): { sub: string; email: string; email_verified: boolean; name: string } | undefined {
  const email = login.trim().toLowerCase();
  if (!emailPattern.test(email)) return undefined;
  const local = email.split('@')[0];
  return { sub: login, email, email_verified: !local.startsWith('unverified'), name: `Test ${local}` };
}

export async function startOidcTestProvider(opts: OidcTestProviderOptions): Promise<OidcTestProvider> {
  const host = opts.host ?? '127.0.0.1';
  const issuer = `http://${host}:${opts.port}`;
  const clientId = opts.clientId ?? 'edgetune-test';
  const clientSecret = opts.clientSecret ?? randomBytes(24).toString('hex');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as Record<string, unknown>;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: opts.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    jwks: { keys: [{ ...jwk, kid: 'test-key', use: 'sig', alg: 'RS256' }] },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx, sub) {
      const claims = testAccountClaims(sub);
      if (!claims) return undefined;
      return { accountId: sub, claims: () => claims };
    },
    // First-party client: the scopes it asks for are granted without a consent screen.
    async loadExistingGrant(ctx) {
      const { client, session, result } = ctx.oidc;
      if (!client || !session?.accountId) return undefined;
      const grantId = result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      if (grantId) {
        const existing = await ctx.oidc.provider.Grant.find(grantId);
        if (existing) return existing;
      }
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope('openid email profile');
      grant.addOIDCClaims(['email', 'email_verified', 'name']);
      await grant.save();
      return grant;
    },
  });

  const server: Server = createServer(provider.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => resolve());
  });
  return {
    issuer,
    clientId,
    clientSecret,
    env: { OIDC_ISSUER: issuer, OIDC_CLIENT_ID: clientId, OIDC_CLIENT_SECRET: clientSecret },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '3199' },
      redirect: { type: 'string', multiple: true },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
    },
  });
  if (!values.redirect?.length) {
    process.stderr.write('usage: tsx infra/oidc-test-provider.ts --port 3229 --redirect http://127.0.0.1:3000/api/auth/callback/oidc [--client-id ID --client-secret SECRET]\n');
    process.exit(2);
  }
  const p = await startOidcTestProvider({
    port: Number(values.port),
    redirectUris: values.redirect,
    clientId: values['client-id'],
    clientSecret: values['client-secret'],
  });
  for (const [k, v] of Object.entries(p.env)) process.stdout.write(`${k}=${v}\n`);
  const stop = () => void p.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
