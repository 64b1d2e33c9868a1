// ESLint: typescript-eslint's type-aware recommended rules over the TypeScript sources, ESLint's
// recommended rules over the plain JavaScript (the console's browser script, this file).
// `npm run lint` runs it after `prettier --check`; formatting is Prettier's alone.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Test code and the helpers only tests import. */
const TEST_FILES = ['**/*.test.ts', 'test/**/*.ts', 'infra/fixtures/**/*.ts', '**/testing.ts', 'core/stream/contract.ts'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.infra/', '.state/', '.city-brain/', 'grafana/', 'dashboards/schema-check/'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A promise nobody awaits or catches can reject unhandled: handle it, or `void` it with a comment saying why.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // Off: 56 async functions without await are deliberate (they implement promise-returning
      // interfaces, and `async` turns a throw into a rejection); rewriting them would change that.
      '@typescript-eslint/require-await': 'off',
      // Deliberately unused names start with `_`; `{ ts: _ts, ...rest }` drops a field.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Passing on a rejection reason as it was received is fine; creating a non-Error one is not.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    files: TEST_FILES,
    rules: {
      // Off in tests: they read JSON replies as `any` and check them field by field (228 findings).
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Off in tests: `any` for a JSON reply read field by field keeps the assertions readable.
      '@typescript-eslint/no-explicit-any': 'off',
      // Off in tests: `expect(mock.method)` and cleanup closures typed as methods are not calls through `this`.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['api/console/**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['*.js'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
);
