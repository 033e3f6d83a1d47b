// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

// The dependency rule from docs/architecture.md, enforced: dockerode only in src/docker,
// ora only in src/ui, @iarna/toml only in src/cnb/toml.ts.
const restricted = (allow) => ({
  'no-restricted-imports': [
    'error',
    {
      paths: [
        { name: 'dockerode', message: 'Only src/docker/ talks to Docker.' },
        { name: 'ora', message: 'Only src/ui/ draws spinners.' },
        { name: '@iarna/toml', message: 'Only src/cnb/toml.ts parses TOML.' },
      ].filter((p) => !allow.includes(p.name)),
    },
  ],
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'fixtures/', '**/*.js', '**/*.mjs'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  { files: ['src/**/*.ts'], rules: restricted([]) },
  { files: ['src/docker/**/*.ts'], rules: restricted(['dockerode']) },
  { files: ['src/ui/**/*.ts'], rules: restricted(['ora']) },
  { files: ['src/cnb/toml.ts'], rules: restricted(['@iarna/toml']) },
  { files: ['src/**/*.test.ts', 'test/**/*.ts'], rules: { 'no-restricted-imports': 'off' } },
);
