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

  // Live alert on the clinician worklist. Every few seconds (data-alerts-every, from the
  // server's settings) ask /clinic/alerts for emergency and urgent assessments received
  // since the last answer's cursor. Each new one is shown once: an emergency in the
  // role="alert" region (and a short tone if "Sound for new emergencies" is ticked), an
  // urgent one in the quieter role="status" region; the counts per urgency follow. Rows
  // already on the page are not announced again. Signed out (401): stop and say so.
  var SOUND_KEY = "backpath.alertSound";
  var audio = null;

  function soundWanted() {
    try { return window.localStorage.getItem(SOUND_KEY) === "1"; } catch (e) { return false; }
  }

  function rememberSound(on) {
    try { window.localStorage.setItem(SOUND_KEY, on ? "1" : "0"); } catch (e) { /* private mode */ }
  }

  // The Web Audio context; browsers let it play only after a click or key on the page.
  function audioContext() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    if (!audio) audio = new Context();
    if (audio.state === "suspended" && audio.resume) audio.resume();
    return audio;
  }

  // Two short high beeps, made on the spot (no sound file is downloaded).
  function tone() {
    var context = audioContext();
    if (!context) return;
    var start = context.currentTime + 0.02;
    for (var beep = 0; beep < 2; beep++) {
      var at = start + beep * 0.25;
      var oscillator = context.createOscillator();
      var gain = context.createGain();
      oscillator.type = "sine";
      oscillator.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.3, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
      oscillator.connect(gain);
      gain.connect(context.destination);
      oscillator.start(at);
      oscillator.stop(at + 0.2);
    }
  }

  function liveAlert(box) {
    var url = box.getAttribute("data-alerts-url");
    var since = box.getAttribute("data-alerts-since") || "";
    var every = Math.max(parseFloat(box.getAttribute("data-alerts-every")) || 10, 0.2) * 1000;
    var loud = document.getElementById("alerts-emergency");
    var quiet = document.getElementById("alerts-urgent");
    var state = document.getElementById("alerts-state");
    var sound = document.getElementById("alert-sound");
    var seen = {};
    var stopped = false;
    var rows = document.querySelectorAll("tr[data-assessment]");
    for (var r = 0; r < rows.length; r++) seen[rows[r].getAttribute("data-assessment")] = true;

    if (sound) {
      sound.checked = soundWanted();
      sound.addEventListener("change", function () {
        rememberSound(sound.checked);
        if (sound.checked) audioContext();
      });
      var unlock = function () { if (sound.checked) audioContext(); };
      document.addEventListener("pointerdown", unlock);
      document.addEventListener("keydown", unlock);
    }

    function say(text) {
      if (state && state.textContent !== text) state.textContent = text;
    }

    function banner(item) {
      var line = document.createElement("div");
      line.className = "live-banner live-" + item.urgency;
      line.setAttribute("data-alert", item.id);
      line.setAttribute("data-urgency", item.urgency);
      var link = document.createElement("a");
      link.href = item.url;
      link.textContent = item.text;
      var when = document.createElement("span");
      when.className = "live-when";
      when.textContent = item.received;
      var dismiss = document.createElement("button");
      dismiss.type = "button";
      dismiss.className = "small secondary";
      dismiss.textContent = box.getAttribute("data-text-dismiss") || "Dismiss";
      dismiss.addEventListener("click", function () { line.parentNode.removeChild(line); });
      line.appendChild(link);
      line.appendChild(when);
      line.appendChild(dismiss);
      return line;
    }

    function showCounts(counts) {
      if (!counts) return;
      var links = document.querySelectorAll("[data-count-for]");
      for (var i = 0; i < links.length; i++) {
        var value = counts[links[i].getAttribute("data-count-for")];
        var number = links[i].querySelector("[data-count]");
        if (number && typeof value === "number") number.textContent = String(value);
      }
    }

    function show(answer) {
      since = answer.cursor || since;
      var items = answer.items || [];
      var newEmergency = false;
      // The server sends emergencies first, newest first: add from the end so the newest
      // ends up on top of its region.
      for (var i = items.length - 1; i >= 0; i--) {
        var item = items[i];
        if (seen[item.id]) continue;
        seen[item.id] = true;
        var region = item.urgency === "emergency" ? loud : quiet;
        if (!region) continue;
        region.insertBefore(banner(item), region.firstChild);
        if (item.urgency === "emergency") newEmergency = true;
      }
      if (newEmergency && sound && sound.checked) tone();
      showCounts(answer.counts);
    }

    function poll() {
      var address = url + (since ? "?since=" + encodeURIComponent(since) : "");
      fetch(address, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { "Accept": "application/json" }
      })
        .then(function (response) {
          if (response.status === 401) {
            stopped = true;
            say(box.getAttribute("data-text-signed-out") || "");
            return null;
          }
          if (!response.ok) throw new Error("alerts " + response.status);
          return response.json();
        })
        .then(function (answer) {
          if (!answer) return;
          say("");
          show(answer);
        })
        .catch(function () { say(box.getAttribute("data-text-failed") || ""); })
        .then(function () { if (!stopped) setTimeout(poll, every); });
    }

    setTimeout(poll, every);
  }

  // A worklist row opens its assessment wherever it is clicked, except on its own links
  // (a phone number, the row's links) or when the clinician is selecting text to copy.
  // Ctrl/Cmd-click and the middle button open it in a new tab, as a link would.
  function rowLink(row) {
    var href = row.getAttribute("data-href");
    if (!href) return;
    function open(event) {
      if (event.target.closest("a, button, input, select, textarea, label")) return;
      var selection = window.getSelection ? String(window.getSelection()) : "";
      if (selection) return;
      if (event.ctrlKey || event.metaKey || event.button === 1) window.open(href, "_blank");
      else window.location.assign(href);
    }
    row.addEventListener("click", open);
    row.addEventListener("auxclick", function (event) { if (event.button === 1) open(event); });
  }

  ready(function () {
    var linkedRows = document.querySelectorAll("tr.row-link[data-href]");
    for (var k = 0; k < linkedRows.length; k++) rowLink(linkedRows[k]);

    var live = document.getElementById("live-alert");
    if (live && window.fetch) liveAlert(live);

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
