// The real `socket.io-client` (end2end's copy), for the cluster test that runs it through
// HAProxy: it connects to `/chat` with a token (long-polling first, then upgrading to a
// WebSocket, as browsers do; cookies kept so HAProxy's stickiness holds), joins one
// conversation from its start (`lastSeq: 0`: what came before the join is replayed), sends
// `count` messages one after another, and collects every message it holds (its acks and the
// `newMessage`s) until it has `expect` of them. Prints one JSON line: {"joinedOn": transport,
// "transports": [...each ack's transport], "seqs": [...in arrival order]}.
import { createRequire } from "node:module";

const [e2eDir, json] = process.argv.slice(2);
const { io } = createRequire(`${e2eDir}/package.json`)("socket.io-client");
const { url, token, conv, count, expect, upgrade } = JSON.parse(json);

let stage = "connecting";
const fail = (why) => {
  console.error(`${why} (while ${stage}; holding ${seqs.length} of ${expect}: ${seqs})`);
  process.exit(1);
};
setTimeout(() => fail("timed out"), 30_000).unref();

const seqs = [];
const socket = io(`${url}/chat`, { auth: { token }, withCredentials: true, reconnection: false, upgrade });
const held = new Set();
const hold = (message) => {
  if (held.has(message.seq)) fail(`seq ${message.seq} twice`);
  held.add(message.seq);
  seqs.push(message.seq);
};
socket.on("newMessage", ({ message }) => hold(message));
socket.on("connect_error", (error) => fail(`connect_error: ${error.message}`));
socket.on("disconnect", (reason) => {
  if (seqs.length < expect) fail(`disconnected: ${reason}`);
});
socket.on("connect", async () => {
  stage = "joining";
  const joined = await socket.timeout(5_000).emitWithAck("joinConversation", { convId: conv, lastSeq: 0 });
  if (joined.convId !== conv) fail(`join answered ${JSON.stringify(joined)}`);
  const joinedOn = socket.io.engine.transport.name;
  const transports = [];
  for (let i = 0; i < count; i++) {
    stage = `sending ${i}`;
    const answer = await socket.timeout(5_000).emitWithAck("sendMessage", {
      convId: conv,
      message: { message: `js ${i}` },
      clientId: `js${i}`,
    });
    if (!answer.message) fail(`send answered ${JSON.stringify(answer)}`);
    hold(answer.message);
    transports.push(socket.io.engine.transport.name);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  stage = "waiting for the rest";
  while (seqs.length < expect) await new Promise((resolve) => setTimeout(resolve, 20));
  console.log(JSON.stringify({ joinedOn, transports, seqs }));
  socket.close();
  process.exit(0);
});
