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

  ready(function () {
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
