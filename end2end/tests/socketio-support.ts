// Clients for the Socket.IO tests: users registered over REST, the real `socket.io-client`
// against `/chat`, and a native-socket (`/ws`) client built on `ws`. No browser needed.
import { APIRequestContext, expect } from "@playwright/test";
import { io, ManagerOptions, Socket, SocketOptions } from "socket.io-client";
import WebSocket from "ws";

/** How long any single wait may take before the test fails. */
const WAIT_MS = 5_000;

export interface User {
  id: number;
  username: string;
  token: string;
}

/** Registers a user whose name is unique to this run (every spec shares one database). */
export async function register(request: APIRequestContext, prefix: string): Promise<User> {
  const username = `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
  const response = await request.post("/api/auth/register", {
    data: { username, password: "correct horse battery" },
  });
  expect(response.status(), `registering ${username}`).toBe(201);
  const body = await response.json();
  return { id: body.user.id, username: body.user.username, token: body.token };
}

/** A conversation between `a` and `b`, created over REST; returns its id. */
export async function conversation(request: APIRequestContext, a: User, b: User): Promise<number> {
  const response = await request.post("/api/conversations", {
    headers: { authorization: `Bearer ${a.token}` },
    data: { user2_id: b.id },
  });
  expect(response.ok()).toBeTruthy();
  return (await response.json()).id;
}

/** The messages of a conversation as `user` reads them over REST. */
export async function history(request: APIRequestContext, user: User, convId: number): Promise<any[]> {
  const response = await request.get(`/api/conversations/${convId}/messages`, {
    headers: { authorization: `Bearer ${user.token}` },
  });
  expect(response.ok()).toBeTruthy();
  return (await response.json()).messages;
}

/** Opens and closes clients; `closeAll` runs after every test so none outlives it. */
export class Clients {
  private sockets: Socket[] = [];
  private natives: WebSocket[] = [];

  constructor(private baseURL: string) {}

  /** A Socket.IO socket on `/chat` (not yet connected unless `autoConnect` is left on). */
  socket(options: Partial<ManagerOptions & SocketOptions> = {}): Socket {
    const socket = io(`${this.baseURL}/chat`, { forceNew: true, reconnection: false, ...options });
    this.sockets.push(socket);
    return socket;
  }

  /** A Socket.IO socket signed in as `user`, once it is connected. */
  async connect(user: User, options: Partial<ManagerOptions & SocketOptions> = {}): Promise<Socket> {
    const socket = this.socket({ auth: { token: user.token }, ...options });
    await connected(socket);
    return socket;
  }

  /** A native `/ws` socket signed in as `user`, once it is open. */
  async native(user: User): Promise<NativeClient> {
    const url = `${this.baseURL.replace(/^http/, "ws")}/ws`;
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${user.token}` } });
    this.natives.push(socket);
    const client = new NativeClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    return client;
  }

  closeAll() {
    for (const socket of this.sockets) socket.disconnect();
    for (const socket of this.natives) socket.close();
    this.sockets = [];
    this.natives = [];
  }
}

/** Resolves when the socket connects; rejects with the `connect_error`. */
export function connected(socket: Socket): Promise<void> {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
}

/** The `connect_error` the socket gets (fails if it connects instead). */
export function refused(socket: Socket): Promise<Error> {
  return within(
    new Promise((resolve, reject) => {
      socket.once("connect_error", resolve);
      socket.once("connect", () => reject(new Error("the socket connected")));
    }),
    "a connect_error",
  );
}

/** The payload of the next `event` on the socket. */
export function next(socket: Socket, event: string): Promise<any> {
  return within(new Promise((resolve) => socket.once(event, resolve)), `a ${event} event`);
}

/** The payloads of `event` collected until `count` have arrived. */
export function collect(socket: Socket, event: string, count: number): Promise<any[]> {
  const seen: any[] = [];
  return within(
    new Promise((resolve) => {
      const listener = (data: any) => {
        seen.push(data);
        if (seen.length === count) {
          socket.off(event, listener);
          resolve(seen);
        }
      };
      socket.on(event, listener);
    }),
    `${count} ${event} events`,
  );
}

/** Emits with an acknowledgement callback and returns what the server acknowledged with. */
export function request(socket: Socket, event: string, data?: unknown): Promise<any> {
  const pending = data === undefined ? socket.emitWithAck(event) : socket.emitWithAck(event, data);
  return within(pending, `the ack of ${event}`);
}

/** Fails if `event` arrives on the socket within a short while. */
export async function silence(socket: Socket, event: string): Promise<void> {
  const heard: any[] = [];
  const listener = (data: any) => heard.push(data);
  socket.on(event, listener);
  await new Promise((resolve) => setTimeout(resolve, 400));
  socket.off(event, listener);
  expect(heard, `no ${event} expected`).toEqual([]);
}

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${WAIT_MS} ms`)), WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A native-socket client speaking natter's JSON frames (`{event, data, ref?}`). */
export class NativeClient {
  private frames: any[] = [];
  private waiting: ((frame: any) => void)[] = [];

  constructor(private socket: WebSocket) {
    socket.on("message", (raw) => {
      const frame = JSON.parse(raw.toString());
      const waiter = this.waiting.shift();
      if (waiter) waiter(frame);
      else this.frames.push(frame);
    });
  }

  send(event: string, data: unknown, ref?: string) {
    this.socket.send(JSON.stringify(ref === undefined ? { event, data } : { event, data, ref }));
  }

  /** The next frame, in arrival order. */
  next(): Promise<any> {
    const frame = this.frames.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    return within(new Promise((resolve) => this.waiting.push(resolve)), "a native frame");
  }

  /** The next frame whose event is `event`, skipping others. */
  async nextEvent(event: string): Promise<any> {
    for (;;) {
      const frame = await this.next();
      if (frame.event === event) return frame;
    }
  }
}
