// Lint: typescript-eslint's recommended rules on src/, test/ and the AssemblyScript of
// assembly/, plain recommended rules on the JavaScript of bench/, examples/, bin/ and
// scripts/. AssemblyScript's function decorators (`@inline function f()`) are not
// TypeScript syntax: the processor below blanks them (same length, so every reported
// line and column stays right) before the TypeScript parser reads the file.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const ASSEMBLY_DECORATOR = /@(inline|global|lazy|unsafe|external|builtin|operator|final|unmanaged)\b(?=\s)/g;

/** @type {import('eslint').Linter.Processor} */
const assemblyScript = {
  meta: { name: 'assemblyscript-decorators' },
  preprocess: (text) => [text.replace(ASSEMBLY_DECORATOR, (d) => ' '.repeat(d.length))],
  postprocess: (messages) => messages.flat(),
  supportsAutofix: true,
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'docs/api/',
      'src/wasm/',
      '.node24/',
      'coverage/',
      'assembly/**/*.generated.ts',
      'src/onnx/proto.generated.js',
      'src/onnx/proto.generated.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['assembly/**/*.ts'],
    processor: assemblyScript,
  },
);
