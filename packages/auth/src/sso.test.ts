import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Account } from 'next-auth';
import { ConfigError, loadConfig as load } from '@edgetune/config';
import { SsoRefusedError, ssoProviderInfo, ssoProviders, ssoSignIn, verifiedSsoIdentity } from './sso';

const loadConfig = (env: Record<string, string>) => load(env as NodeJS.ProcessEnv);
const oidcEnv = { OIDC_ISSUER: 'https://idp.example.com/realms/acme/', OIDC_CLIENT_ID: 'edgetune', OIDC_CLIENT_SECRET: 's3cret', OIDC_NAME: 'Acme SSO' };
const account = (provider: string, extra: Partial<Account> = {}): Account => ({ provider, type: 'oauth', providerAccountId: 'acct-1', ...extra });

describe('SSO providers from configuration', () => {
  it('offers nothing when nothing is configured', () => {
    assert.deepEqual(ssoProviderInfo(loadConfig({})), []);
    assert.deepEqual(ssoProviders(loadConfig({})), []);
  });

  it('offers each fully configured provider, the OIDC one under its configured name', () => {
    const config = loadConfig({ ...oidcEnv, GITHUB_CLIENT_ID: 'gh', GITHUB_CLIENT_SECRET: 'ghs', GOOGLE_CLIENT_ID: 'g', GOOGLE_CLIENT_SECRET: 'gs' });
    assert.deepEqual(ssoProviderInfo(config), [
      { id: 'github', name: 'GitHub' },
      { id: 'google', name: 'Google' },
      { id: 'oidc', name: 'Acme SSO' },
    ]);
    const oidc = ssoProviders(config).find((p) => p.id === 'oidc')!;
    assert.equal(oidc.wellKnown, 'https://idp.example.com/realms/acme/.well-known/openid-configuration');
    assert.equal(oidc.idToken, true);
    assert.deepEqual(oidc.checks, ['pkce', 'state']);
    assert.equal(oidc.clientId, 'edgetune');
    assert.deepEqual(oidc.profile({ sub: 'abc', email: 'A@Example.com', name: 'Ann' }, {}), { id: 'abc', name: 'Ann', email: 'A@Example.com', image: null });
  });

  it('refuses to start half configured, naming what is missing', () => {
    assert.throws(() => loadConfig({ OIDC_ISSUER: oidcEnv.OIDC_ISSUER, OIDC_CLIENT_ID: 'x' }), (e: Error) => e instanceof ConfigError && /OIDC_CLIENT_SECRET: required because OIDC_ISSUER and OIDC_CLIENT_ID are set/.test(e.message));
    assert.throws(() => loadConfig({ GITHUB_CLIENT_SECRET: 'x' }), /GITHUB_CLIENT_ID: required because GITHUB_CLIENT_SECRET is set/);
    assert.throws(() => loadConfig({ ...oidcEnv, OIDC_ISSUER: 'not a url' }), /OIDC_ISSUER/);
  });
});

describe('verified e-mail rule', () => {
  const config = loadConfig(oidcEnv);

  it('accepts an e-mail the provider verified, lower-cased', async () => {
    const id = await verifiedSsoIdentity(account('google'), { sub: 'g1', email: 'Ann@Example.com', email_verified: true, name: 'Ann' } as never, undefined, config);
    assert.deepEqual(id, { provider: 'google', providerAccountId: 'acct-1', email: 'ann@example.com', name: 'Ann' });
    const viaOidc = await verifiedSsoIdentity(account('oidc'), { sub: 'o1', email: 'bob@example.com', email_verified: 'true' } as never, undefined, config);
    assert.equal(viaOidc.email, 'bob@example.com');
  });

  it('refuses an unverified or missing e-mail with a code the sign-in page explains', async () => {
    await assert.rejects(
      verifiedSsoIdentity(account('google'), { sub: 'g1', email: 'ann@example.com', email_verified: false } as never, undefined, config),
      (e: unknown) => e instanceof SsoRefusedError && e.code === 'SsoEmailUnverified' && /has not verified ann@example.com/.test(e.message),
    );
    // No access token to ask the userinfo endpoint with, and no e-mail in the ID token.
    await assert.rejects(verifiedSsoIdentity(account('oidc'), { sub: 'o1' } as never, undefined, config), (e: unknown) => e instanceof SsoRefusedError && e.code === 'SsoNoEmail');
    await assert.rejects(verifiedSsoIdentity(account('gitlab'), {} as never, undefined, config), (e: unknown) => e instanceof SsoRefusedError && e.code === 'SsoFailed');
  });

  it('leaves sign-ins other than OAuth to their own provider', async () => {
    const user = { id: 'u1', email: 'ann@example.com' };
    assert.equal(await ssoSignIn({ user, account: { provider: 'credentials', type: 'credentials', providerAccountId: 'x' } }), true);
    assert.equal(user.id, 'u1');
  });
});
