/**
 * `tessera audit …`: hands the arguments, untouched, to the auditor's own CLI, which owns its
 * options, help, output formats and exit codes (0 pass, 1 findings, 2 bad target or
 * unreachable). Imported on demand, so the other commands never load the auditor.
 */
export async function auditCommand(argv: string[]): Promise<number> {
  const { runAuditCli } = await import('@tessera/audit');
  return runAuditCli(argv);
}
