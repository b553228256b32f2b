import { closeSync, openSync, readSync } from 'node:fs';

// Large enough for /proc/stat on a few hundred CPUs; it grows when a file is bigger.
const INITIAL_BYTES = 64 * 1024;
const MAX_BYTES = 16 * 1024 * 1024;

/**
 * Reads small kernel files (procfs, cgroupfs, sysfs) through one scratch buffer. Opening a file
 * costs more than reading it, so a {@link KernelFile} keeps its descriptor and re-reads it from
 * position 0; the kernel regenerates the content on every read.
 */
export class KernelFiles {
  private buf = Buffer.allocUnsafe(INITIAL_BYTES);

  /** A file to read every sample through a descriptor kept open. */
  open(path: string): KernelFile {
    return new KernelFile(path, this);
  }

  /** Reads a file once (open, read, close); undefined when it cannot be read. */
  readOnce(path: string): string | undefined {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return undefined;
    }
    try {
      return this.readFd(fd);
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  /** @internal Reads a descriptor from position 0. May throw (ESRCH once a process has exited). */
  readFd(fd: number): string {
    let n = 0;
    for (;;) {
      const got = readSync(fd, this.buf, n, this.buf.length - n, n);
      n += got;
      // procfs and cgroupfs fill the whole buffer when they can, so a short read is the end
      // of the file; this saves the zero-length read that would otherwise confirm it.
      if (got === 0 || n < this.buf.length || this.buf.length >= MAX_BYTES) break;
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, n);
      this.buf = bigger;
    }
    // latin1 is the cheapest decoding, and these files are ASCII but for names we never use.
    return this.buf.toString('latin1', 0, n);
  }
}

/** Why a file could not be read: permissions do not change, so such a file is never retried. */
const PERMANENT = new Set(['EACCES', 'EPERM']);

export class KernelFile {
  private fd: number | undefined;
  private denied = false;

  constructor(
    readonly path: string,
    private readonly files: KernelFiles,
  ) {}

  /**
   * The file's current content, or undefined. A read that fails (the process exited, the cgroup
   * was removed) closes the descriptor and opens the path once more, which also follows a PID or
   * cgroup that was re-created.
   */
  read(): string | undefined {
    if (this.denied) return undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (this.fd === undefined) {
        try {
          this.fd = openSync(this.path, 'r');
        } catch (err) {
          this.denied = PERMANENT.has((err as NodeJS.ErrnoException).code ?? '');
          return undefined;
        }
      }
      try {
        return this.files.readFd(this.fd);
      } catch (err) {
        this.close();
        if (PERMANENT.has((err as NodeJS.ErrnoException).code ?? '')) {
          this.denied = true;
          return undefined;
        }
      }
    }
    return undefined;
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // close() fails only for a descriptor that is already gone: nothing is left to release.
    }
    this.fd = undefined;
  }
}
