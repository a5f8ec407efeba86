// Lint: typescript-eslint's recommended type-aware rules, plus the house rules that keep runs
// reproducible (no Math.random, no clock-seeded randomness) and boundaries typed (no `any`).
import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', 'docs/**', 'ablation-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'Math',
          property: 'random',
          message: 'Randomness comes from src/core/random.ts, keyed by (seed, epoch, index): never Math.random.',
        },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    // src loads tfjs through '#tfjs' (src/backend/tfjs.js, with require): an ESM import of its
    // CommonJS build costs every process ~0.25 s of Node lexing it for named exports.
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { paths: [{ name: '@tensorflow/tfjs', allowTypeImports: true, message: "Import tf from '#tfjs' (src/backend/tfjs.js)." }] },
      ],
    },
  },
  {
    // No import cycles in src (type-only imports included): a module's dependencies form a tree
    // a reader can follow one way (in src/experiment: stats <- store <- train <- run <- cli).
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'], extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true, allowUnsafeDynamicCyclicDependency: false }] },
  },
  {
    // Tests may use Math.random to build hostile or random inputs; src may not.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
