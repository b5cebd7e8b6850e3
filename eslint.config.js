// Lint: typescript-eslint's recommended rules on src/ and test/, plain recommended rules
// on the JavaScript of bench/, examples/, bin/ and scripts/. AssemblyScript (assembly/)
// is checked by its own compiler.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'docs/api/', 'assembly/', 'src/wasm/', '.node24/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
