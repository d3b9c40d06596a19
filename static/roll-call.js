// Närvaro roll call: optional. Saves without a reload and shows a reason choice as soon as
// a pupil is marked. Without it the form works as plain HTML.
(function () {
  "use strict";
  var main = document.getElementById("main");
  function bind() {
    var form = document.getElementById("roll");
    if (!form) return;
    var tpl = document.getElementById("rt");
    form.addEventListener("change", function (e) {
      var t = e.target;
      if (t.type !== "radio" || t.name.charAt(0) !== "s") return;
      var li = t.closest("li");
      li.className = t.value === "p" ? "" : "off";
      if (t.value !== "p" && tpl && !li.querySelector(".rs")) {
        var node = tpl.content.firstElementChild.cloneNode(true);
        node.querySelector("select").name = "r" + t.name.slice(1);
        li.appendChild(node);
      }
    });
    // on the start page the form is sent as a plain POST: the answer is the lesson's page
    if (form.closest(".now")) return;
    form.addEventListener("submit", function (e) {
      if (!window.fetch || !window.FormData) return;
      e.preventDefault();
      var data = new URLSearchParams(new FormData(form));
      if (e.submitter && e.submitter.name) data.append(e.submitter.name, e.submitter.value);
      var buttons = form.querySelectorAll("button");
      buttons.forEach(function (b) { b.disabled = true; });
      fetch(form.getAttribute("action"), { method: "POST", body: data, credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var next = doc.getElementById("main");
          if (!next) { form.submit(); return; }
          main.innerHTML = next.innerHTML;
          bind();
          var focus = main.querySelector(".errors, .notice, #state");
          if (focus) { focus.setAttribute("tabindex", "-1"); focus.focus(); }
        })
        .catch(function () { form.submit(); });
    });
  }
  bind();
})();
