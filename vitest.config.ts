import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores here: more parallel files only fight over them and make timing-based tests flaky.
    maxWorkers: 2,
    // s3rver makes ListObjectsV2 continuation tokens with DES, which OpenSSL 3 refuses without its legacy provider.
    execArgv: ['--openssl-legacy-provider'],
  },
});
