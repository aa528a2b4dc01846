import net from 'node:net';

/**
 * A TCP relay on 127.0.0.1 port 0 whose target can move: a publisher keeps ONE url while the server behind it
 * is killed (connections are then reset, as by a dead host) and restarted on a new port (`setTarget`).
 */
export class Relay {
  private target: number | null;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly srv: net.Server,
    target: number | null,
  ) {
    this.target = target;
  }

  static async start(target: number | null): Promise<Relay> {
    const srv = net.createServer();
    const relay = new Relay(srv, target);
    srv.on('connection', (c) => relay.accept(c));
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => resolve());
    });
    return relay;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.srv.address() as net.AddressInfo).port}`;
  }

  /** New connections go to this port; null resets them at once (server down). */
  setTarget(port: number | null): void {
    this.target = port;
  }

  private accept(client: net.Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    if (this.target === null) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.target, '127.0.0.1');
    this.sockets.add(upstream);
    upstream.on('close', () => this.sockets.delete(upstream));
    upstream.on('error', () => {
      client.resetAndDestroy();
      upstream.destroy();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.srv.close(() => resolve()));
  }
}
