// Registers natter's service worker (public/sw.js) once the page has loaded, so that it never
// competes with the page's own downloads. The server names the worker in this script's
// `data-sw` (app/src/install.rs): its address carries the build's version, and only a build
// whose files have content-hashed names has one.
//
// Web Push, when the server has it on (`GET /api/push/key` answers): once the person has
// allowed notifications (the app's "Turn on notifications"), the browser subscribes with the
// server's key and the subscription is stored for the signed-in person (`PUT
// /api/push/subscription`, with the conversations muted in this browser). It is stored again
// whenever the page is hidden or closed, which is when pushes start to matter, so a mute set
// since is known. Plain script, not the app's WebAssembly: nothing here weighs on its size.
"use strict";
(() => {
  const url = document.currentScript && document.currentScript.dataset.sw;
  if (!url || !("serviceWorker" in navigator)) return;
  const register = () =>
    navigator.serviceWorker
      .register(url, { scope: "/" })
      .then(() => push())
      .catch((error) => console.warn("natter: no service worker", error));
  if (document.readyState === "complete") register();
  else window.addEventListener("load", register, { once: true });

  async function push() {
    if (!("PushManager" in window) || !("Notification" in window)) return;
    const answer = await fetch("/api/push/key", { credentials: "same-origin" });
    if (!answer.ok) return; // off on this server
    const { publicKey } = await answer.json();
    const me = await fetch("/api/me", { credentials: "same-origin" });
    if (!me.ok) return; // signed out
    const { id } = await me.json();
    const sync = async (keepalive) => {
      if (Notification.permission !== "granted") return;
      const registration = await navigator.serviceWorker.ready;
      let subscription = await registration.pushManager.getSubscription();
      if (subscription && base64url(subscription.options.applicationServerKey) !== publicKey) {
        await subscription.unsubscribe();
        subscription = null;
      }
      subscription ||= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: publicKey });
      const muted = (localStorage.getItem(`natter.muted.${id}`) || "").split(",").map(Number).filter((n) => Number.isSafeInteger(n) && n > 0).slice(0, 1000);
      await fetch("/api/push/subscription", {
        method: "PUT",
        credentials: "same-origin",
        keepalive,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...subscription.toJSON(), muted }),
      });
    };
    const quietly = (keepalive) => sync(keepalive).catch((error) => console.warn("natter: no push", error));
    quietly(false);
    // Allowed later (the app's button): subscribe then.
    if (navigator.permissions) {
      navigator.permissions
        .query({ name: "notifications" })
        .then((status) => status.addEventListener("change", () => quietly(false)))
        .catch(() => {});
    }
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") quietly(true);
    });
  }

  function base64url(buffer) {
    if (!buffer) return "";
    return btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
})();
