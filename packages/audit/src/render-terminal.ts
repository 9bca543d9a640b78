import type { Verdict } from './check-catalog.js';
import type { AuditReport } from './report.js';

const COLOURS: Record<Verdict, string> = {
  PASS: '32',
  FAIL: '31',
  WARN: '33',
  INCONCLUSIVE: '35',
  SKIPPED: '90',
};

/**
 * The human report: grouped by area, one line per check plus its evidence, the statistical rule
 * where there is one. Colour only when asked (the CLI asks when stdout is a TTY and NO_COLOR is
 * unset).
 *
 * @example process.stdout.write(renderTerminal(report, { colour: process.stdout.isTTY }));
 */
export function renderTerminal(
  report: AuditReport,
  { colour = false, verbose = true }: { colour?: boolean; verbose?: boolean } = {},
): string {
  const paint = (code: string, text: string) => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const lines: string[] = [];
  lines.push(paint('1', `tessera audit — ${report.target.name} (${report.target.baseUrl})`));
  const p = report.target.policy;
  lines.push(
    `policy ${p.profile}: idle ${p.idleTimeoutSeconds} s, absolute ${p.absoluteTimeoutSeconds} s, tolerance ${p.toleranceSeconds} s; ${report.requests} requests in ${report.durationSeconds} s; ${report.sessionsLoggedOut} leftover session(s) logged out`,
  );
  lines.push(report.fingerprintNote);
  lines.push('');
  lines.push(paint('1', 'Discovery'));
  for (const d of report.discovery) lines.push(`  ${d}`);
  const areas = [...new Set(report.results.map((r) => r.area))];
  for (const area of areas) {
    lines.push('');
    lines.push(paint('1', area));
    for (const r of report.results.filter((x) => x.area === area)) {
      const tag = paint(COLOURS[r.verdict], r.verdict.padEnd(12));
      const sev = r.verdict === 'FAIL' || r.verdict === 'WARN' ? ` [${r.severity}]` : '';
      lines.push(`  ${tag} ${r.id.padEnd(10)} ${r.title}${sev}`);
      lines.push(`               ${r.summary}`);
      if (r.rule) lines.push(`               rule: ${r.rule}`);
      if (verbose && r.verdict !== 'PASS' && r.verdict !== 'SKIPPED')
        for (const e of r.evidence) lines.push(paint('90', `                 · ${e}`));
      lines.push(paint('90', `               refs: ${r.refs.join(', ')}`));
    }
  }
  lines.push('');
  const c = report.counts;
  lines.push(
    paint(
      '1',
      `${c.FAIL} FAIL, ${c.WARN} WARN, ${c.INCONCLUSIVE} INCONCLUSIVE, ${c.SKIPPED} SKIPPED, ${c.PASS} PASS (fail-on: ${report.options.failOn})`,
    ),
  );
  return `${lines.join('\n')}\n`;
}
