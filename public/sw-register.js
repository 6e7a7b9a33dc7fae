// Registers natter's service worker (public/sw.js) once the page has loaded, so that it never
// competes with the page's own downloads. The server names the worker in this script's
// `data-sw` (app/src/install.rs): its address carries the build's version, and only a build
// whose files have content-hashed names has one.
"use strict";
(() => {
  const url = document.currentScript && document.currentScript.dataset.sw;
  if (!url || !("serviceWorker" in navigator)) return;
  const register = () =>
    navigator.serviceWorker
      .register(url, { scope: "/" })
      .catch((error) => console.warn("natter: no service worker", error));
  if (document.readyState === "complete") register();
  else window.addEventListener("load", register, { once: true });
})();
