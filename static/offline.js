// Närvaro offline: on the teacher's start page, hands the day's pages to the service worker
// to keep; on every page that carries it, sends the roll calls saved without a network as
// soon as there is one, in order, through the same form endpoint and version check, and
// lists those still waiting. A refused one (someone else saved the lesson) shows the
// server's "you sent / stored now" page.
(function () {
  "use strict";
  var box = document.getElementById("offline");
  if (!box || !("serviceWorker" in navigator) || !self.indexedDB) return;
  var Q = self.NarvaroQueue;
  var person = box.getAttribute("data-person");
  var sv = document.documentElement.lang !== "en";
  var urls = JSON.parse(box.getAttribute("data-urls") || "[]");
  navigator.serviceWorker.addEventListener("message", function (e) {
    if (e.data && e.data.type === "kept") document.documentElement.setAttribute("data-offline", "ready");
  });
  navigator.serviceWorker.register("/sw.js").then(function () {
    return navigator.serviceWorker.ready;
  }).then(function (reg) {
    if (urls.length && reg.active) {
      reg.active.postMessage({ type: "day", person: person, lang: sv ? "sv" : "en", urls: urls });
    }
  });

  function hm(t) {
    var d = new Date(t);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }
  function label(url) {
    var a = document.querySelector('a.lesson[href="' + url + '"]');
    if (a) {
      var s = a.querySelector("strong"), g = a.querySelector("strong + span");
      return ((s ? s.textContent : "") + " " + (g ? g.textContent : "")).trim() || url;
    }
    var h = url === location.pathname && document.querySelector("h1");
    return h ? h.textContent.replace(/\s+/g, " ").trim() : url;
  }
  // this lesson's roll call, waiting on the device: its marks are shown in the form again,
  // so that a reload does not look as if they were lost
  function restore(item) {
    var form = document.getElementById("roll");
    if (!form || item.url !== location.pathname) return;
    new URLSearchParams(item.body).forEach(function (value, name) {
      if (!/^[smor]\d+$/.test(name)) return;
      var field = form.querySelector('[name="' + name + '"]' + (/^[sm]/.test(name) ? '[value="' + value + '"]' : ""));
      if (!field) return;
      if (field.type === "radio") {
        field.checked = true;
        if (name.charAt(0) === "s") field.dispatchEvent(new Event("change", { bubbles: true }));
      } else field.value = value;
    });
    var note = box.querySelector("p.restored");
    if (note) note.hidden = false;
  }
  function show() {
    return Q.all().then(function (items) {
      var mine = items.filter(function (i) { return i.person === person; });
      var list = box.querySelector("ul");
      list.textContent = "";
      mine.forEach(function (i) {
        var li = document.createElement("li");
        li.textContent = label(i.url) + " – " + (sv ? "sparad på telefonen " : "saved on the device at ") + hm(i.saved_at);
        list.appendChild(li);
        restore(i);
        var badge = document.querySelector('a.lesson[href="' + i.url + '"] .badge.todo');
        if (badge) badge.textContent = sv ? "Väntar på att skickas" : "Waiting to be sent";
      });
      box.hidden = mine.length === 0;
    });
  }
  // the form's token as it is now (a new sign-in gives a new one)
  function fresh(body) {
    var t = document.querySelector("input[name=_csrf]");
    return t ? body.replace(/(^|&)_csrf=[^&]*/, "$1_csrf=" + encodeURIComponent(t.value)) : body;
  }
  function send(item, seen) {
    if (item.person !== person) return Q.remove(item.id);
    return fetch(item.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Narvaro-Replay": "1" },
      body: fresh(item.body) + "&device_saved_at=" + item.saved_at + (item.sid ? "&device_submission=" + item.sid : "")
    }).then(function (r) {
      // signed out, refused as a request, or the server unwell: kept for later
      var login = r.redirected && new URL(r.url).pathname === "/login";
      if (login || r.status === 401 || r.status === 403 || r.status >= 500) throw new Error("later");
      return r.text().then(function (html) {
        return Q.remove(item.id).then(function () {
          seen.sent += 1;
          if (!r.ok && !seen.refused) seen.refused = html;
        });
      });
    });
  }
  function flush() {
    if (!navigator.onLine) return show();
    var seen = { sent: 0, refused: null };
    var run = function () {
      return Q.all().then(function (items) {
        return items.reduce(function (p, i) { return p.then(function () { return send(i, seen); }); }, Promise.resolve());
      });
    };
    var done = navigator.locks ? navigator.locks.request("narvaro-send", run) : run();
    return done.catch(function () {}).then(function () {
      if (seen.refused) {
        document.open();
        document.write(seen.refused);
        document.close();
      } else if (seen.sent && box.hasAttribute("data-reload")) {
        location.reload();
      } else {
        return show();
      }
    });
  }
  window.addEventListener("online", flush);
  flush();
})();
