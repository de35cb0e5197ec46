// backpath: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  // Body map: a click on a region ticks the matching checkbox (the real form control),
  // and ticking a box shades its region. The checklist stays for keyboards and readers.
  function bodyMap(map) {
    var code = map.getAttribute("data-for");
    var fieldset = map.closest("fieldset");
    if (!code || !fieldset) return;
    var boxes = fieldset.querySelectorAll('input[type="checkbox"][name="' + code + '"]');
    function box(value) {
      for (var i = 0; i < boxes.length; i++) if (boxes[i].value === value) return boxes[i];
      return null;
    }
    function paint() {
      var regions = map.querySelectorAll("[data-region]");
      for (var i = 0; i < regions.length; i++) {
        var b = box(regions[i].getAttribute("data-region"));
        regions[i].classList.toggle("on", !!(b && b.checked));
      }
    }
    map.addEventListener("click", function (event) {
      var region = event.target.closest("[data-region]");
      if (!region) return;
      var b = box(region.getAttribute("data-region"));
      if (!b) return;
      b.checked = !b.checked;
      b.dispatchEvent(new Event("change", { bubbles: true }));
    });
    fieldset.addEventListener("change", paint);
    paint();
  }

  // An emergency stops everything at once. Ticking an answer the server marked
  // data-emergency-if-yes sends the page straight away; any other change asks the page's
  // check address whether the answers on screen together make it an emergency, and if so
  // sends the page. The server then stores the assessment and shows the emergency screen.
  // Arrow keys moving through a radio group do not send anything (Next still checks).
  function emergencyInterrupt(form) {
    var checkUrl = form.getAttribute("data-check-url");
    var viaArrow = false;
    var sent = false;
    var timer = null;
    var asked = 0;
    function send() {
      if (sent) return;
      sent = true;
      var nav = document.createElement("input");
      nav.type = "hidden";
      nav.name = "nav";
      nav.value = "stay";
      nav.setAttribute("data-interrupt", "");
      form.appendChild(nav);
      HTMLFormElement.prototype.submit.call(form);
    }
    function check() {
      if (!checkUrl || !window.fetch || !window.URLSearchParams || !window.FormData) return;
      var mine = ++asked;
      fetch(checkUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" },
        body: new URLSearchParams(new FormData(form)).toString()
      })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (answer) { if (answer && answer.emergency && mine === asked) send(); })
        .catch(function () { /* Next still checks on the server */ });
    }
    form.addEventListener("keydown", function (event) {
      viaArrow = /^Arrow/.test(event.key || "");
    });
    form.addEventListener("pointerdown", function () { viaArrow = false; });
    form.addEventListener("change", function (event) {
      var input = event.target;
      if (!input || !input.name || input.name === "lang") return;
      if (viaArrow) {
        // Moving through a radio group: nothing is sent now, not even a check already
        // waiting or on its way (it would read the answer passed over). Next still checks.
        viaArrow = false;
        clearTimeout(timer);
        asked++;
        return;
      }
      if (input.checked && input.hasAttribute("data-emergency-if-yes")) {
        send();
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(check, 120);
    });
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) return;
      sent = false;
      var old = form.querySelector("input[data-interrupt]");
      if (old) old.parentNode.removeChild(old);
    });
  }

  // A checklist's "None of these" excludes everything else: choosing it unticks the rest,
  // and ticking anything else unticks it ("I'm not sure" may go with ticked items: the
  // others are then unknown). Without JavaScript the server asks again.
  function exclusiveChecklist(fieldset) {
    fieldset.addEventListener("change", function (event) {
      var input = event.target;
      if (!input || input.type !== "checkbox" || !input.checked) return;
      var boxes = fieldset.querySelectorAll('input[type="checkbox"][name="' + input.name + '"]');
      var exclusive = input.hasAttribute("data-exclusive");
      for (var i = 0; i < boxes.length; i++) {
        var other = boxes[i];
        if (other === input || !other.checked) continue;
        if (exclusive || other.hasAttribute("data-exclusive")) other.checked = false;
      }
    });
  }

  ready(function () {
    var lists = document.querySelectorAll("fieldset.checklist");
    for (var l = 0; l < lists.length; l++) exclusiveChecklist(lists[l]);

    var forms = document.querySelectorAll("form[data-check-url]");
    for (var f = 0; f < forms.length; f++) emergencyInterrupt(forms[f]);

    var maps = document.querySelectorAll(".body-map[data-for]");
    for (var i = 0; i < maps.length; i++) bodyMap(maps[i]);

    var printers = document.querySelectorAll(".js-print");
    for (var j = 0; j < printers.length; j++) {
      printers[j].addEventListener("click", function () { window.print(); });
    }

    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  });
})();
