/**
 * Finds the exception a crashed process reported in the tail of its stderr, so the error is titled
 * `MemoryError: …` rather than "exited with code 1", and repeats of one crash group together.
 * Each runtime prints its fatal error differently; a small table of line patterns covers the common
 * ones. The last match wins: a traceback's final line is the exception that ended the process.
 */
export interface Exception {
  /** The exception's type (`ValueError`, `TypeError`, `panic`, `java.lang.OutOfMemoryError`). */
  type: string;
  /** Its message, possibly empty. */
  message: string;
  /** Which runtime's pattern matched. */
  runtime: 'python' | 'node' | 'java' | 'go' | 'rust';
}

interface Pattern {
  runtime: Exception['runtime'];
  line: RegExp;
  /** Tells a real exception line from ordinary output that happens to look like one. */
  confirm?: (lines: string[], i: number) => boolean;
  build(m: RegExpMatchArray): { type: string; message: string };
}

// Each regex is anchored and made of simple classes under single quantifiers, so matching stays
// linear on hostile output.
const PATTERNS: Pattern[] = [
  {
    runtime: 'rust',
    // thread 'main' (22919) panicked at src/main.rs:4:5:\nmessage   (Rust ≥ 1.73 puts the message on
    // the next line; recent releases add the thread id in parentheses)
    line: /^thread '[^']*'(?: \(\d+\))? panicked at (.*)$/,
    build: (m) => ({ type: 'panic', message: m[1] ?? '' }),
  },
  {
    runtime: 'go',
    line: /^(panic|fatal error): (.*)$/,
    confirm: (lines, i) => lines.slice(i + 1).some((l) => /^goroutine \d+ \[/.test(l)) || lines[i]?.startsWith('fatal error') === true,
    build: (m) => ({ type: m[1] === 'panic' ? 'panic' : 'fatal error', message: (m[2] ?? '').replace(/ \[recovered\]$/, '') }),
  },
  {
    runtime: 'java',
    // Exception in thread "main" java.lang.IllegalStateException: boom — the exception thrown, not
    // its `Caused by:` chain (which the stack trace keeps)
    line: /^Exception in thread "[^"]*" ([\w$.]+)(?:: (.*))?$/,
    build: (m) => ({ type: m[1] ?? 'Exception', message: m[2] ?? '' }),
  },
  {
    runtime: 'python',
    // Right after a frame (`  File "…", line N`, its source line and `^^^` markers). The `Traceback`
    // header may have scrolled out of a long tail, so the frame is what tells it from plain output.
    confirm: (lines, i) => lines.slice(Math.max(0, i - 4), i).some((l) => /^\s+File "/.test(l)),
    // ValueError: bad input   |   mypkg.errors.QuotaError: over quota   |   KeyboardInterrupt
    line: /^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Iteration|Fault))(?:: (.*))?$/,
    build: (m) => ({ type: m[1] ?? 'Exception', message: m[2] ?? '' }),
  },
  {
    runtime: 'node',
    // TypeError: x is not a function, followed by "    at …" frames
    line: /^(?:Uncaught )?([A-Z][\w$]*(?:Error|Exception)|Error)(?: \[[A-Z_]+\])?: (.*)$/,
    confirm: (lines, i) => /^\s+at /.test(lines[i + 1] ?? ''),
    build: (m) => ({ type: m[1] ?? 'Error', message: m[2] ?? '' }),
  },
];

/** The exception the tail ends with, or undefined when none of the known forms is there. */
export function findException(tail: string): Exception | undefined {
  const lines = tail.split('\n');
  let found: { at: number; exception: Exception } | undefined;
  for (const p of PATTERNS) {
    for (let i = found?.at ?? 0; i < lines.length; i++) {
      const text = (lines[i] ?? '').trimEnd();
      const m = text.match(p.line);
      if (!m || (p.confirm && !p.confirm(lines, i))) continue;
      const built = p.build(m);
      let message = built.message;
      // Rust prints the panic's location on the panic line and its message on the next.
      if (p.runtime === 'rust' && message.endsWith(':') && lines[i + 1]) message = `${lines[i + 1]?.trim()} (at ${message.slice(0, -1)})`;
      found = { at: i, exception: { type: built.type, message: message.trim(), runtime: p.runtime } };
    }
  }
  return found?.exception;
}

/** `Type: message`, or the type alone. */
export function exceptionTitle(e: Exception): string {
  return e.message ? `${e.type}: ${e.message}` : e.type;
}
