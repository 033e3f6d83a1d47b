// Three projects: `unit` never touches Docker and runs in seconds; `buildpack` runs the
// buildpack's sh scripts on the host with the real Go toolchain; `integration` needs a
// Docker engine (see test/helpers/docker.ts for how it skips or fails without one).
const tsJest = ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }];

/** @type {import('jest').Config} */
module.exports = {
  // Docker tests share one engine and assert on its state (no container left behind): one
  // test file at a time.
  maxWorkers: 1,
  projects: [
    {
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      testEnvironment: 'node',
    },
    {
      displayName: 'buildpack',
      testMatch: ['<rootDir>/test/buildpack/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      testEnvironment: 'node',
    },
    {
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      testEnvironment: 'node',
    },
  ],
};
