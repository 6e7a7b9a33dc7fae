// Socket.IO compatibility (issue 5): the NestJS gateway's clients, speaking the real
// `socket.io-client`, work against natter with a token added and nothing else. No browser.
import { test, expect } from "@playwright/test";
import {
  Clients,
  collect,
  conversation,
  history,
  next,
  refused,
  register,
  request as ack,
  silence,
} from "./socketio-support";

let clients: Clients;

test.beforeEach(({ baseURL }) => {
  clients = new Clients(baseURL!);
});

test.afterEach(() => clients.closeAll());

test("the seed's usage example, with a token added, creates a conversation and exchanges newMessage", async ({
  request,
}) => {
  const alice = await register(request, "sio_alice");
  const bob = await register(request, "sio_bob");
  // The seed's `io('http://localhost:3000/chat')`, plus `auth: {token}` from login.
  const socket = await clients.connect(alice);
  const bobSocket = await clients.connect(bob);

  const created = next(socket, "conversationCreated");
  const bobHears = next(bobSocket, "conversationCreated");
  socket.emit("createConversation", { createConvDto: { user2_id: bob.id }, userId: alice.id });
  const { conversation } = await created;
  expect(conversation.room).toBe(`conversation_${conversation.id}`);
  expect(conversation.members.map((m: any) => m.id).sort()).toEqual([alice.id, bob.id].sort());
  expect((await bobHears).conversation.id).toBe(conversation.id);

  const convId = conversation.id;
  for (const [s, user] of [
    [socket, alice],
    [bobSocket, bob],
  ] as const) {
    const joined = next(s, "joinedConversation");
    s.emit("joinConversation", { convId, userId: user.id });
    expect(await joined).toEqual({ convId, room: `conversation_${convId}` });
  }

  // Both members hear it, the sender included, as the seed's clients expect.
  const heardByAlice = next(socket, "newMessage");
  const heardByBob = next(bobSocket, "newMessage");
  socket.emit("sendMessage", { convId, message: { message: "Hello!" }, userId: alice.id });
  for (const { message } of [await heardByAlice, await heardByBob]) {
    expect(message).toMatchObject({ convId, senderId: alice.id, message: "Hello!", seq: 1 });
  }
  expect((await history(request, bob, convId)).map((m) => m.message)).toEqual(["Hello!"]);
});

test("join and leave round trip, by event and by acknowledgement", async ({ request }) => {
  const alice = await register(request, "sio_alice");
  const bob = await register(request, "sio_bob");
  const convId = await conversation(request, alice, bob);
  const socket = await clients.connect(alice);
  const bobSocket = await clients.connect(bob);
  const room = `conversation_${convId}`;

  const joined = next(socket, "joinedConversation");
  socket.emit("joinConversation", { convId });
  expect(await joined).toEqual({ convId, room });
  const left = next(socket, "leftConversation");
  socket.emit("leaveConversation", { convId });
  expect(await left).toEqual({ convId, room });

  // With a callback, the answer comes through it, not as an event.
  expect(await ack(socket, "joinConversation", { convId })).toEqual({ convId, room });
  expect(await ack(bobSocket, "joinConversation", { convId })).toEqual({ convId, room });
  const bobHears = next(bobSocket, "newMessage");
  const sent = await ack(socket, "sendMessage", { convId, message: { message: "acked" } });
  expect(sent.message).toMatchObject({ convId, senderId: alice.id, message: "acked" });
  expect((await bobHears).message.id).toBe(sent.message.id);
  await silence(socket, "newMessage");

  expect(await ack(socket, "leaveConversation", { convId })).toEqual({ convId, room });
  // Out of the room, bob's messages no longer reach alice; errors come through the callback.
  await ack(bobSocket, "sendMessage", { convId, message: { message: "after leaving" } });
  await silence(socket, "newMessage");
  const error = await ack(socket, "leaveConversation", { convId });
  expect(error).toEqual({ code: "notJoined", message: expect.stringContaining(`${convId}`) });
});

test("a connect without a valid token is refused with a connect_error that says why", async ({ request }) => {
  const anonymous = clients.socket();
  expect((await refused(anonymous)).message).toMatch(/^unauthenticated: /);

  const forged = clients.socket({ auth: { token: "not-a-token" } });
  expect((await refused(forged)).message).toMatch(/^invalidToken: /);

  const mistyped = clients.socket({ auth: { token: 42 } });
  expect((await refused(mistyped)).message).toMatch(/^invalidToken: /);

  // After logout the same token is refused.
  const carol = await register(request, "sio_carol");
  const logout = await request.post("/api/auth/logout", {
    headers: { authorization: `Bearer ${carol.token}` },
  });
  expect(logout.ok()).toBeTruthy();
  const revoked = clients.socket({ auth: { token: carol.token } });
  expect((await refused(revoked)).message).toMatch(/^invalidToken: /);
});

test("the session cookie authenticates a handshake too", async ({ request }) => {
  const alice = await register(request, "sio_alice");
  const bob = await register(request, "sio_bob");
  const convId = await conversation(request, alice, bob);
  const socket = await clients.connect(alice, {
    auth: {},
    extraHeaders: { cookie: `natter_session=${alice.token}` },
  });
  expect(await ack(socket, "joinConversation", { convId })).toEqual({
    convId,
    room: `conversation_${convId}`,
  });
});

test("a spoofed userId gets an error and is never acted on", async ({ request }) => {
  const alice = await register(request, "sio_alice");
  const bob = await register(request, "sio_bob");
  const convId = await conversation(request, alice, bob);
  const socket = await clients.connect(alice);
  await ack(socket, "joinConversation", { convId });

  const error = next(socket, "error");
  socket.emit("sendMessage", { convId, message: { message: "as bob" }, userId: bob.id });
  expect(await error).toMatchObject({ code: "spoofedUser" });
  const viaAck = await ack(socket, "createConversation", {
    createConvDto: { user2_id: alice.id },
    userId: bob.id,
  });
  expect(viaAck).toMatchObject({ code: "spoofedUser" });
  expect(await history(request, alice, convId)).toEqual([]);

  // The connection stays up and acts on the real user.
  const sent = await ack(socket, "sendMessage", { convId, message: { message: "as me" }, userId: alice.id });
  expect(sent.message.senderId).toBe(alice.id);
  expect((await history(request, bob, convId)).map((m) => m.message)).toEqual(["as me"]);
});

test("bad input gets an error with the native socket's codes and the connection stays up", async ({ request }) => {
  const alice = await register(request, "sio_alice");
  const bob = await register(request, "sio_bob");
  const carol = await register(request, "sio_carol");
  const theirs = await conversation(request, bob, carol);
  const ours = await conversation(request, alice, bob);
  const socket = await clients.connect(alice);

  const errors = collect(socket, "error", 6);
  socket.emit("joinConversation", { convId: "one" }); // mistyped
  socket.emit("joinConversation"); // no payload at all
  socket.emit("sendMessage", { convId: ours, message: { message: "hi" }, extra: true }); // unknown field
  socket.emit("fly", { to: "moon" }); // unknown event
  socket.emit("joinConversation", { convId: theirs }); // not a member
  socket.emit("sendMessage", { convId: ours, message: { message: "   " } }); // empty after trimming
  expect((await errors).map((e) => e.code)).toEqual([
    "invalidPayload",
    "invalidPayload",
    "invalidPayload",
    "unknownEvent",
    "notMember",
    "emptyMessage",
  ]);
  for (const error of await errors) expect(typeof error.message).toBe("string");

  // The same through acknowledgements.
  expect(await ack(socket, "fly", {})).toMatchObject({ code: "unknownEvent" });
  expect(await ack(socket, "sendMessage", { convId: theirs, message: { message: "x" } })).toMatchObject({
    code: "notMember",
  });
  expect(await ack(socket, "joinConversation", { convId: 999_999_999 })).toMatchObject({
    code: "conversationNotFound",
  });

  expect(socket.connected).toBe(true);
  expect(await ack(socket, "joinConversation", { convId: ours })).toMatchObject({ convId: ours });
  expect(await history(request, bob, theirs)).toEqual([]);
});

test("one chat: a message goes from a Socket.IO client to a native-socket client and back", async ({
  request,
}) => {
  const alice = await register(request, "sio_alice");
  const bob = await register(request, "sio_bob");
  const convId = await conversation(request, alice, bob);
  const socket = await clients.connect(alice);
  const native = await clients.native(bob);

  await ack(socket, "joinConversation", { convId });
  native.send("joinConversation", { convId }, "j1");
  expect(await native.next()).toMatchObject({ event: "joinedConversation", data: { convId }, ref: "j1" });

  // Sent without a callback, as the seed's clients do, so Alice's own socket gets the room's
  // newMessage too (the seed's behaviour); it may come after Bob's copy, so wait for it here.
  const ownEcho = next(socket, "newMessage");
  socket.emit("sendMessage", { convId, message: { message: "from socket.io" }, userId: alice.id });
  const atBob = await native.nextEvent("newMessage");
  expect(atBob.data.message).toMatchObject({ senderId: alice.id, message: "from socket.io" });
  expect((await ownEcho).message).toMatchObject({ senderId: alice.id, message: "from socket.io" });

  const atAlice = next(socket, "newMessage");
  native.send("sendMessage", { convId, message: { message: "from the native socket" } });
  expect((await atAlice).message).toMatchObject({ senderId: bob.id, message: "from the native socket" });

  // REST is the same chat too.
  const viaRest = next(socket, "newMessage");
  const posted = await request.post(`/api/conversations/${convId}/messages`, {
    headers: { authorization: `Bearer ${bob.token}` },
    data: { message: "from REST" },
  });
  expect(posted.ok()).toBeTruthy();
  expect((await viaRest).message).toMatchObject({ senderId: bob.id, message: "from REST" });
});

for (const transport of ["polling", "websocket"] as const) {
  test(`the ${transport} transport alone carries the whole flow`, async ({ request }) => {
    const alice = await register(request, "sio_alice");
    const bob = await register(request, "sio_bob");
    const socket = await clients.connect(alice, { transports: [transport] });
    const bobSocket = await clients.connect(bob, { transports: [transport] });
    expect(socket.io.engine.transport.name).toBe(transport);

    const bobHears = next(bobSocket, "conversationCreated");
    const { conversation } = await ack(socket, "createConversation", {
      createConvDto: { user2_id: bob.id },
      userId: alice.id,
    });
    const convId = conversation.id;
    expect((await bobHears).conversation.id).toBe(convId);
    await ack(socket, "joinConversation", { convId });
    await ack(bobSocket, "joinConversation", { convId });

    // Several in a row arrive once each, in order.
    const heard = collect(bobSocket, "newMessage", 3);
    for (const text of ["one", "two", "three"]) {
      socket.emit("sendMessage", { convId, message: { message: text } });
    }
    const messages = (await heard).map((m) => m.message);
    expect(messages.map((m) => m.message)).toEqual(["one", "two", "three"]);
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(socket.io.engine.transport.name).toBe(transport);
  });
}
