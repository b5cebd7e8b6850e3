// Formats the AssemblyScript sources (assembly/) with the project's prettier settings.
// AssemblyScript puts decorators on functions (`@inline function f()`), which TypeScript's
// grammar, and so prettier's parser, refuses. Each such decorator is parked in a block
// comment of the same name for the format and put back afterwards, so the decorator stays
// exactly where it was written.
//
//   node scripts/format-assembly.mjs           rewrite files that differ
//   node scripts/format-assembly.mjs --check   list them and exit 1 (CI)
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';

const root = fileURLToPath(new URL('..', import.meta.url));
const check = process.argv.includes('--check');

/** Decorators AssemblyScript allows on top-level functions and globals. */
const DECORATORS = ['inline', 'global', 'lazy', 'unsafe', 'external', 'builtin', 'operator', 'final', 'unmanaged'];
const park = new RegExp(`@(${DECORATORS.join('|')})\\b(?=\\s)`, 'g');
const unpark = new RegExp(`/\\*@(${DECORATORS.join('|')})\\*/`, 'g');

/** Every hand-written .ts file under `dir` (generated ones are formatted by their generator). */
function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.generated.ts') ? [p] : [];
  });
}

/**
 * The formatted text of one AssemblyScript file.
 * @param {string} text
 * @param {string} file
 */
export async function formatAssembly(text, file) {
  if (text.includes('/*@')) throw new Error(`${file}: a /*@...*/ comment would be read back as a decorator`);
  const options = (await prettier.resolveConfig(file)) ?? {};
  const parked = text.replace(park, '/*@$1*/');
  const formatted = await prettier.format(parked, { ...options, parser: 'typescript', filepath: file });
  return formatted.replace(unpark, '@$1');
}

const differing = [];
for (const file of sources(join(root, 'assembly'))) {
  const text = readFileSync(file, 'utf8');
  const out = await formatAssembly(text, file);
  if (out === text) continue;
  differing.push(relative(root, file));
  if (!check) writeFileSync(file, out);
}
if (check && differing.length) {
  console.error(
    `AssemblyScript files not formatted (run: node scripts/format-assembly.mjs):\n  ${differing.join('\n  ')}`,
  );
  process.exit(1);
}
if (!check) console.log(differing.length ? `formatted ${differing.join(', ')}` : 'assembly/ already formatted');
