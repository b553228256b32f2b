/**
 * Keeps the last lines a child wrote to stderr, within a byte bound, so a crash report can carry
 * the stack trace without holding a chatty process's whole output in memory.
 */
export class StderrTail {
  private chunks: Buffer[] = [];
  private bytes = 0;

  constructor(
    private readonly maxLines = 50,
    private readonly maxBytes = 16 * 1024,
  ) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes > this.maxBytes * 2 && this.chunks.length > 1) this.bytes -= (this.chunks.shift() as Buffer).length;
  }

  /** The last `maxLines` lines (at most `maxBytes`), decoded leniently: a child may write any bytes. */
  text(): string {
    let buf = Buffer.concat(this.chunks);
    if (buf.length > this.maxBytes) buf = buf.subarray(buf.length - this.maxBytes);
    const lines = buf.toString('utf8').replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n');
    // NUL cannot be stored as text (PostgreSQL refuses it); other control characters are kept.
    return lines.slice(-this.maxLines).join('\n').replaceAll('\u0000', '\ufffd');
  }
}
