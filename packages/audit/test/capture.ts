/** A writable that keeps what the CLI printed, for `runAuditCli`'s `io` (not a TTY). */
export function capture() {
  let text = '';
  return {
    write: (s: string) => (text += s),
    get text() {
      return text;
    },
    isTTY: false,
  };
}
