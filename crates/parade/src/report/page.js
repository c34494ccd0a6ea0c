(function () {
  "use strict";
  // Data comes from the JSON block; everything is written with textContent, never as markup.
  var data = JSON.parse(document.getElementById("run-data").textContent);
  var panel = document.getElementById("detail");
  var body = document.getElementById("detail-body");
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  function show(i) {
    var t = data.tasks[i];
    if (!t) { return; }
    body.replaceChildren();
    body.appendChild(el("h3", t.n));
    var dl = el("dl");
    function row(k, v) { if (v !== undefined && v !== "") { dl.appendChild(el("dt", k)); dl.appendChild(el("dd", v)); } }
    row("state", t.s);
    row("reason", t.r);
    row("ran", t.du);
    row("from → to", t.at);
    row("waited", t.w);
    row("slot", t.sl);
    row("deps", t.d ? t.d.join(", ") : undefined);
    body.appendChild(dl);
    if (t.c) { body.appendChild(el("h4", "command")); body.appendChild(el("pre", t.c, "command")); }
    if (t.l) {
      body.appendChild(el("h4", "log (" + t.l.length + " of " + t.ll + " lines)"));
      body.appendChild(el("pre", t.l.join("\n"), "log"));
    }
    panel.hidden = false;
    if (window.history && history.replaceState) {
      history.replaceState(null, "", "#task=" + encodeURIComponent(t.n));
    }
  }
  document.addEventListener("click", function (e) {
    var target = e.target.closest ? e.target.closest("[data-i]") : null;
    if (target) { show(Number(target.getAttribute("data-i"))); }
  });
  document.getElementById("detail-close").addEventListener("click", function (e) {
    e.stopPropagation();
    panel.hidden = true;
  });
  document.querySelectorAll(".when").forEach(function (w) {
    var ms = Number(w.getAttribute("data-ms"));
    w.textContent = ms > 0 ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "at an unknown time";
  });
  // report.html#task=NAME opens with that task's details shown.
  var wanted = /^#task=(.*)$/.exec(window.location.hash);
  if (wanted) {
    var name = decodeURIComponent(wanted[1]);
    for (var i = 0; i < data.tasks.length; i++) {
      if (data.tasks[i].n === name) { show(i); break; }
    }
  }
  document.body.setAttribute("data-ready", String(data.tasks.length));
})();
