import { createServer, type Server, type Socket, connect } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy of the tests' own between the hub and PostgreSQL, to inject network faults without
 * touching the machine's database server: `cut` (every connection reset, new ones refused),
 * `blackhole` (connections stay open but no byte moves either way until `heal`), and `open`.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private holding = false;

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  /** A proxy on a free port, listening at once unless `refusing`, when `open()` starts it later. */
  static async start(target: { host: string; port: number }, options: { refusing?: boolean } = {}): Promise<TcpProxy> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const proxy = new TcpProxy(port, target);
    if (!options.refusing) await proxy.open();
    return proxy;
  }

  /** Listens (again) on the proxy's port and forwards. */
  async open(): Promise<void> {
    this.holding = false;
    for (const s of this.sockets) s.resume();
    if (this.server) return;
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  private accept(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.sockets.add(from);
      from.on('data', (chunk) => {
        if (!to.write(chunk)) from.pause();
      });
      to.on('drain', () => {
        if (!this.holding) from.resume();
      });
      from.on('error', () => to.destroy());
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
      if (this.holding) from.pause();
    }
  }

  /** Resets every connection and refuses new ones (the listener closes) until `open()`. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Stops moving bytes either way without closing anything (new connections hang too), until `open()`. */
  blackhole(): void {
    this.holding = true;
    for (const s of this.sockets) s.pause();
  }

  async close(): Promise<void> {
    await this.cut();
  }
}

/** The same postgres:// URL, pointed at the proxy. */
export function throughProxy(url: string, proxy: TcpProxy): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString();
}
