// `make lint`: a small rule set on top of the type-check, chosen for the mistakes that cost
// us something in a long-lived daemon (a dropped promise is a lost error or a leaked task;
// `==` hides a wrong type; a stray console write corrupts the shim's `start` answer).
// Type-aware (no-floating-promises needs the type of each call), so it reads tsconfig.json.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/gen/**', '.cache/**', '.tap/**'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', {
        argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_',
      }],
      // tap queues every `t.test(...)` itself and fails the file if one rejects: its
      // returned promise is safe to leave.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }],
      }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    // The daemon's stdout/stderr belong to containerd (`start`'s answer, `delete`'s
    // DeleteResponse) or to the log; only the CLI prints for a person.
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: { 'no-console': 'error' },
  },
);
