// Närvaro's service worker: the teacher's lessons of the day on the device, and roll calls
// saved without a network kept until they can be sent. Only the pages the teacher's start
// page names are kept, for that day and that person. See README, "The roll call without a
// network".
"use strict";
var V = "__VERSION__";
importScripts("/static/queue.js?v=" + V);
var Q = self.NarvaroQueue;
var SHELL = "shell-" + V;
var DAY = "day";
var LESSON = /^\/lessons\/\d+$/;

// the day's owner, read once per start of the worker (and kept in step when it changes)
var known = null;
function meta() {
  return known ? Promise.resolve(known) : Q.meta().then(function (m) { known = m || null; return m; });
}
function setMeta(m) {
  known = m;
  return Q.setMeta(m);
}

function today() {
  var d = new Date();
  return d.getFullYear() + "-" + (d.getMonth() + 1) + "-" + d.getDate();
}

self.addEventListener("install", function (e) {
  e.waitUntil(caches.open(SHELL).then(function (c) {
    return c.addAll(["app.css", "roll-call.js", "offline.js", "queue.js"].map(function (f) {
      return "/static/" + f + "?v=" + V;
    }).concat(["/favicon.ico"]));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== SHELL && k !== DAY; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

// Another person, or another day: nothing of the earlier one stays.
function forget(person) {
  return meta().then(function (m) {
    if (!m) return;
    var other = person && m.person !== person;
    if (!other && m.day === today()) return;
    return caches.delete(DAY).then(function () {
      return other ? Q.clear().then(function () { return setMeta({ person: person, day: today() }); }) : null;
    });
  });
}

// The start page names the teacher's pages of the day: keep them.
self.addEventListener("message", function (e) {
  var m = e.data || {};
  if (m.type !== "day" || !m.person) return;
  e.waitUntil(forget(m.person).then(function () {
    return setMeta({ person: m.person, day: today(), lang: m.lang });
  }).then(function () { return caches.open(DAY); }).then(function (c) {
    return Promise.all(m.urls.map(function (u) {
      return fetch(u, { credentials: "same-origin" }).then(function (r) {
        if (r.ok && !r.redirected) return c.put(u, r);
      }).catch(function () {});
    }));
  }).then(function () {
    if (e.source) e.source.postMessage({ type: "kept", count: m.urls.length });
  }));
});

function kept(url) {
  return meta().then(function (m) {
    if (!m || m.day !== today()) return caches.delete(DAY).then(function () { return null; });
    return caches.open(DAY).then(function (c) { return c.match(url.pathname); });
  });
}

function page(lang, title, text) {
  var html = '<!doctype html><html lang="' + lang + '"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>' + title +
    '</title><link rel="stylesheet" href="/static/app.css?v=' + V + '"></head><body>' +
    '<main id="main"><h1>' + title + '</h1>' + text + '</main></body></html>';
  return new Response(html, { headers: { "Content-Type": "text/html; charset=utf-8" } });
}

function offlinePage() {
  return meta().then(function (m) {
    var sv = !m || m.lang !== "en";
    return page(sv ? "sv" : "en", sv ? "Ingen anslutning" : "No connection",
      "<p>" + (sv ? "Sidan finns inte sparad på telefonen. Försök igen när nätet är tillbaka."
        : "This page is not kept on the device. Try again when the network is back.") +
      '</p><p><a href="/">' + (sv ? "Till startsidan" : "To the start page") + "</a></p>");
  });
}

// A roll call sent without a network: kept, and said so plainly.
function park(path, body) {
  return meta().then(function (m) {
    var at = new Date();
    var id = self.crypto && crypto.randomUUID ? crypto.randomUUID() : String(at.getTime()) + "-" + Math.floor(Math.random() * 1e9);
    return Q.add({ url: path, body: body, saved_at: at.getTime(), person: m && m.person, sid: id }).then(function () {
      var sv = !m || m.lang !== "en";
      var hm = ("0" + at.getHours()).slice(-2) + ":" + ("0" + at.getMinutes()).slice(-2);
      return page(sv ? "sv" : "en", sv ? "Sparad på telefonen" : "Saved on the device",
        '<p id="state" class="notice" role="status"><strong>' +
        (sv ? "Sparad på telefonen " + hm + "</strong> – skickas när nätet är tillbaka."
          : "Saved on the device at " + hm + "</strong> – sent when the network is back.") +
        "</p><p>" + (sv ? "Lektionen är inte rapporterad förrän den är skickad. Logga inte ut innan dess: utloggning tar bort den från telefonen."
          : "The lesson is not reported until it is sent. Do not sign out before then: signing out removes it from the device.") +
        '</p><p><a href="/">' + (sv ? "Till startsidan" : "To the start page") + "</a></p>");
    });
  });
}

self.addEventListener("fetch", function (e) {
  var r = e.request;
  var url = new URL(r.url);
  if (url.origin !== self.location.origin) return;
  if (r.method === "GET" && (url.pathname.indexOf("/static/") === 0 || url.pathname === "/favicon.ico")) {
    e.respondWith(caches.match(r).then(function (hit) { return hit || fetch(r); }));
  } else if (r.method === "GET" && r.mode === "navigate") {
    e.respondWith(fetch(r).then(function (res) {
      var person = res.headers.get("X-Narvaro-Person");
      if (person) e.waitUntil(forget(person));
      return res;
    }).catch(function () {
      return kept(url).then(function (hit) { return hit || offlinePage(); });
    }));
  } else if (r.method === "POST" && LESSON.test(url.pathname) && !r.headers.get("X-Narvaro-Replay")) {
    var copy = r.clone();
    e.respondWith(fetch(r).catch(function () {
      return copy.text().then(function (body) { return park(url.pathname, body); });
    }));
  }
});
