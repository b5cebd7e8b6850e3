// Generated sources (microkernels, the layouts shared by TypeScript and wasm) must be what
// their generators give today: a stale file is a kernel or a field offset out of step.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('generated files', () => {
  it.each(['gen-gemm', 'gen-binary', 'gen-layouts', 'gen-onnx-proto'])(
    'scripts/%s.mjs --check finds every file current',
    (gen) => {
      let output = '';
      let status = 0;
      try {
        output = execFileSync(process.execPath, [`scripts/${gen}.mjs`, '--check'], { encoding: 'utf8' });
      } catch (e) {
        const err = e as { status?: number; stdout?: string };
        status = err.status ?? 1;
        output = err.stdout ?? '';
      }
      expect(output).toBe('');
      expect(status).toBe(0);
    },
  );
});
