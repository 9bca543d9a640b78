import type { AuditReport } from './report.js';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch,
  );
}

const CSS = `
:root { --fail:#b3261e; --warn:#8a5a00; --pass:#1e6b32; --muted:#5f6368; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem; color: #202124; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; } h2 { font-size: 1.1rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.meta, .note { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin-top: .5rem; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid #e5e5e5; }
th { background: #f5f5f5; }
.v { font-weight: 700; white-space: nowrap; } .v-FAIL { color: var(--fail); } .v-WARN { color: var(--warn); } .v-PASS { color: var(--pass); } .v-INCONCLUSIVE, .v-SKIPPED { color: var(--muted); }
ul.evidence { margin: .3rem 0 0 1rem; padding: 0; color: var(--muted); font-size: 12px; }
code { white-space: nowrap; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.summary span { margin-right: 1rem; }
@media print { body { margin: 0; font-size: 11px; } tr { page-break-inside: avoid; } a { color: inherit; text-decoration: none; } }
`;

/**
 * One self-contained HTML file: inline CSS, no script, no external resource (a CSP forbids any),
 * every value escaped. Prints cleanly.
 *
 * @example writeFileSync('audit.html', renderHtml(report));
 */
export function renderHtml(report: AuditReport): string {
  const e = escapeHtml;
  const p = report.target.policy;
  const rows = report.results
    .map(
      (r) => `<tr id="${e(r.id)}">
<td class="v v-${e(r.verdict)}">${e(r.verdict)}</td>
<td><code>${e(r.id)}</code></td>
<td>${e(r.severity)}</td>
<td><strong>${e(r.title)}</strong><br>${e(r.summary)}${r.rule ? `<br><span class="note">Rule: ${e(r.rule)}</span>` : ''}
${r.evidence.length > 0 ? `<ul class="evidence">${r.evidence.map((x) => `<li>${e(x)}</li>`).join('')}</ul>` : ''}</td>
<td>${r.refs.map((x) => e(x)).join('<br>')}</td>
</tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tessera audit — ${e(report.target.name)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Session audit of ${e(report.target.name)}</h1>
<p class="meta">${e(report.target.baseUrl)} · ${e(report.startedAt)} · ${e(String(report.durationSeconds))} s · ${e(String(report.requests))} requests · ${e(report.tool.name)} ${e(report.tool.version)}</p>
<p class="meta">Declared policy ${e(p.profile)}: idle ${e(String(p.idleTimeoutSeconds))} s, absolute ${e(String(p.absoluteTimeoutSeconds))} s, tolerance ${e(String(p.toleranceSeconds))} s. Fail-on: ${e(report.options.failOn)}.</p>
<p class="summary"><span class="v v-FAIL">${report.counts.FAIL} FAIL</span><span class="v v-WARN">${report.counts.WARN} WARN</span><span class="v v-INCONCLUSIVE">${report.counts.INCONCLUSIVE} INCONCLUSIVE</span><span class="v v-SKIPPED">${report.counts.SKIPPED} SKIPPED</span><span class="v v-PASS">${report.counts.PASS} PASS</span></p>
<p class="note">${e(report.fingerprintNote)}</p>
<h2>Findings</h2>
<table id="findings">
<thead><tr><th>Verdict</th><th>Check</th><th>Severity</th><th>Finding and evidence</th><th>References</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<h2>Discovery</h2>
<ul>${report.discovery.map((d) => `<li>${e(d)}</li>`).join('')}</ul>
</body>
</html>
`;
}
