/**
 * Imported first by integration tests: fills in what the harness may not set. The harness sets
 * DATABASE_URL, TEMPORAL_ADDRESS, STORAGE_URL and DATA_DIR for the real services it started.
 */
process.env.AUTH_SECRET ??= 'integration-test-secret-0123456789';
process.env.FLEET_KEY_SECRET ??= '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
(process.env as Record<string, string | undefined>).NODE_ENV ??= 'test';
process.env.LOG_LEVEL ??= 'fatal';
export {};
