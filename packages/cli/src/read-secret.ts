/**
 * Reads a secret (an operator's password) the way `passwd` and `ssh-keygen` do: never from the
 * command line, where `ps` shows it to every user of the machine and the shell history keeps
 * it. On a terminal it prompts on stderr with echo off; otherwise it reads the first line of
 * standard input (`printf '%s\n' "$PASSWORD" | tessera operators create ada`). With
 * `confirmPrompt`, a terminal is asked twice and both must match.
 */
export async function readSecretFromStdin(
  prompt: string,
  options: { confirmPrompt?: string } = {},
  stdin: NodeJS.ReadStream = process.stdin,
  stderr: NodeJS.WriteStream = process.stderr,
): Promise<string> {
  if (stdin.isTTY) {
    const first = await readFromTerminal(prompt, stdin, stderr);
    // Typed blind, so typed twice: a typo would otherwise lock the operator out.
    if (options.confirmPrompt !== undefined) {
      const second = await readFromTerminal(options.confirmPrompt, stdin, stderr);
      if (second !== first) throw new Error('the two passwords differ');
    }
    return first;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) {
    chunks.push(Buffer.from(chunk as Buffer));
    if (chunks.some((c) => c.includes(10))) break;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const newline = text.indexOf('\n');
  return (newline === -1 ? text : text.slice(0, newline)).replace(/\r$/, '');
}

function readFromTerminal(
  prompt: string,
  stdin: NodeJS.ReadStream,
  stderr: NodeJS.WriteStream,
): Promise<string> {
  return new Promise((resolve, reject) => {
    stderr.write(prompt);
    let typed = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (data: string) => {
      for (const char of data) {
        if (char === '\r' || char === '\n') return done();
        if (char === '\u0003') return done(new Error('interrupted'));
        if (char === '\u007f' || char === '\b') typed = [...typed].slice(0, -1).join('');
        else if (char >= ' ') typed += char;
      }
    };
    stdin.on('data', onData);
  });
}
