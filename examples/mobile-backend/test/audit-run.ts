import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface AuditResult {
  id: string;
  verdict: 'PASS' | 'FAIL' | 'WARN' | 'INCONCLUSIVE' | 'SKIPPED';
  severity: string;
  summary: string;
  evidence: string[];
}

/** Runs the real `tessera audit` command (from the sources, as `npm test` runs the CLI). */
export function runTesseraAudit(
  target: string,
  env: Record<string, string>,
): Promise<{ code: number | null; results: AuditResult[]; stderr: string }> {
  const out = join(mkdtempSync(join(tmpdir(), 'tessera-example-audit-')), 'report.json');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        'packages/cli/src/main.ts',
        'audit',
        target,
        '--json',
        out,
      ],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env },
        timeout: 280_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, _stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        let results: AuditResult[] = [];
        try {
          results = (JSON.parse(readFileSync(out, 'utf8')) as { results: AuditResult[] }).results;
        } catch {
          // no report: the code and stderr say why
        }
        resolve({ code, results, stderr });
      },
    );
  });
}
