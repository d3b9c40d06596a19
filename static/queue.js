// Närvaro's store on the device (IndexedDB "narvaro"): roll calls saved without a network,
// in the order they were saved, and whose day the kept pages are. Shared by the service
// worker and the pages. See README, "The roll call without a network".
(function (g) {
  "use strict";
  function open() {
    return new Promise(function (ok, fail) {
      var r = indexedDB.open("narvaro", 1);
      r.onupgradeneeded = function () {
        r.result.createObjectStore("queue", { keyPath: "id", autoIncrement: true });
        r.result.createObjectStore("meta");
      };
      r.onsuccess = function () { ok(r.result); };
      r.onerror = function () { fail(r.error); };
    });
  }
  function run(store, mode, act) {
    return open().then(function (db) {
      return new Promise(function (ok, fail) {
        var t = db.transaction(store, mode), out;
        var r = act(t.objectStore(store));
        if (r) r.onsuccess = function () { out = r.result; };
        t.oncomplete = function () { db.close(); ok(out); };
        t.onerror = t.onabort = function () { db.close(); fail(t.error); };
      });
    });
  }
  g.NarvaroQueue = {
    add: function (item) { return run("queue", "readwrite", function (s) { return s.add(item); }); },
    all: function () { return run("queue", "readonly", function (s) { return s.getAll(); }); },
    remove: function (id) { return run("queue", "readwrite", function (s) { return s.delete(id); }); },
    clear: function () { return run("queue", "readwrite", function (s) { return s.clear(); }); },
    meta: function () { return run("meta", "readonly", function (s) { return s.get("day"); }); },
    setMeta: function (m) { return run("meta", "readwrite", function (s) { return s.put(m, "day"); }); }
  };
})(self);
