// natter's service worker: opens the app from cache, and never serves a stale one.
//
// Its address (set by the server, app/src/install.rs) is `/sw.js?v=<version>&asset=<url>…`:
// the build's version and its content-hashed files. A new build is a new address, so the
// browser installs a new worker, which caches the new files under `natter-<new version>` and,
// when it takes over, deletes every other `natter-*` cache.
//
// - the build's hashed files (/pkg/natter.<hash>.*): cache first; a name never changes content;
// - pages (navigations) and the few unhashed files of the shell (manifest, icons): network
//   first, the cached copy only when the network fails (offline);
// - API (/api), server functions (/_sf), sockets (/ws, /socket.io), health checks, even when
//   opened as a page, any method but GET, anything else: not touched, always the network.
// Signing out (POST /_sf/sign_out) forgets the cached pages: they show the person's chats.
//
// Web Push (when the server has it on; sw-register.js subscribes): a push is a message that
// arrived while no natter tab of the person's was connected. It is shown as the page shows
// its own (sender, preview, one notification per conversation: same tag), unless a natter tab
// is visible after all (that page shows it). A click focuses a natter tab on the conversation,
// or opens one.
"use strict";

const params = new URL(self.location.href).searchParams;
const VERSION = params.get("v") || "unversioned";
const CACHE = `natter-${VERSION}`;
const ASSETS = new Set(params.getAll("asset"));
// Never answered from cache, even when opened as a page.
const NETWORK_ONLY = /^\/(api|_sf|ws|socket\.io|healthz|readyz)(\/|$)/;
const SHELL = new Set(["/manifest.webmanifest", "/icon.svg", "/icon-192.png", "/icon-512.png", "/favicon.svg"]);

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // Usually from the HTTP cache: the page has just loaded them.
      await cache.addAll([...ASSETS, ...SHELL]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(
        names.filter((name) => name.startsWith("natter-") && name !== CACHE).map((name) => caches.delete(name)),
      );
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === "/_sf/sign_out") {
    event.waitUntil(forgetPages());
    return;
  }
  if (request.method !== "GET" || NETWORK_ONLY.test(url.pathname)) return;
  if (ASSETS.has(url.pathname)) {
    event.respondWith(cacheFirst(request));
  } else if (request.mode === "navigate" || SHELL.has(url.pathname)) {
    event.respondWith(networkFirst(request, request.mode === "navigate"));
  }
});

async function cacheFirst(request) {
  const cached = await caches.match(request, { cacheName: CACHE });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) {
    const copy = response.clone();
    caches.open(CACHE).then((cache) => cache.put(request, copy));
  }
  return response;
}

async function networkFirst(request, page) {
  try {
    const response = await fetch(request);
    // Only whole, ordinary answers: not an error page, not a redirect (signed out).
    const html = (response.headers.get("content-type") || "").startsWith("text/html");
    if (response.ok && response.type === "basic" && !response.redirected && (html || !page)) {
      const copy = response.clone();
      caches.open(CACHE).then((cache) => cache.put(request, copy));
    }
    return response;
  } catch (offline) {
    const cached =
      (await caches.match(request, { cacheName: CACHE })) ||
      (page && (await caches.match("/", { cacheName: CACHE })));
    if (cached) return cached;
    throw offline;
  }
}

async function forgetPages() {
  const cache = await caches.open(CACHE);
  for (const request of await cache.keys()) {
    const path = new URL(request.url).pathname;
    if (!ASSETS.has(path) && !SHELL.has(path)) await cache.delete(request);
  }
}

self.addEventListener("push", (event) => {
  let message;
  try {
    message = event.data && event.data.json();
  } catch (notJson) {
    return;
  }
  if (!message || !message.conversationId) return;
  event.waitUntil(
    (async () => {
      const tabs = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      if (tabs.some((tab) => tab.visibilityState === "visible")) return;
      await self.registration.showNotification(String(message.sender || "natter"), {
        body: String(message.preview || ""),
        tag: `natter-conversation-${message.conversationId}`,
        renotify: true,
        icon: "/icon-192.png",
        data: { conversationId: message.conversationId },
      });
    })(),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const id = Number(event.notification.data && event.notification.data.conversationId);
  const path = Number.isSafeInteger(id) && id > 0 ? `/c/${id}` : "/";
  event.waitUntil(
    (async () => {
      const tabs = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const tab = tabs.find((t) => new URL(t.url).origin === self.location.origin);
      if (!tab) {
        await self.clients.openWindow(path);
        return;
      }
      const focused = await tab.focus();
      // `navigate` works on tabs this worker controls; another stays where it is, focused.
      if (new URL(focused.url).pathname !== path) await focused.navigate(path).catch(() => {});
    })(),
  );
});
