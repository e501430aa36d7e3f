/*
 * Diary drafts kept in this browser's local storage while typing, so a long entry survives a closed tab,
 * an expired session or a lost connection.
 *
 * An external script (the content security policy allows no inline script without a nonce). It builds its
 * few elements with textContent only, never innerHTML: a draft is user text.
 *
 *   form[data-draft-key]          the editor; its fields are saved under "tandem-draft:<key>", where the
 *                                 key names the person ("p<id>-new-<relationship>", "p<id>-entry-<id>"):
 *                                 on a shared computer nobody is offered someone else's words
 *   form[data-draft-restore=off]  the server re-rendered a failed save with the typed text: nothing to offer
 *   [data-draft-clear=<key>]      on the page after a successful save: forget that draft
 *
 * Every page that loads this script first drops drafts older than a week, and drafts kept by earlier
 * versions under keys that name nobody.
 */
(function () {
  "use strict";

  var PREFIX = "tandem-draft:";
  var SKIP = { csrf_token: true, lt: true, version: true };
  var MAX_AGE_MS = 7 * 24 * 3600 * 1000;
  var OWNED = /^p\d+-(new|entry)-\d+$/;

  function storage() {
    try {
      var probe = PREFIX + "probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (e) {
      return null; // blocked (private mode, third-party storage partitioning): drafts are a bonus
    }
  }

  function fieldsOf(form) {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || SKIP[el.name] || el.type === "hidden" || el.disabled) return;
      if (el.type === "checkbox" || el.type === "radio") {
        values[el.name + "=" + el.value] = el.checked;
      } else {
        values[el.name] = el.value;
      }
    });
    return values;
  }

  function apply(form, values) {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || SKIP[el.name] || el.type === "hidden" || el.disabled) return;
      if (el.type === "checkbox" || el.type === "radio") {
        var key = el.name + "=" + el.value;
        if (Object.prototype.hasOwnProperty.call(values, key)) el.checked = !!values[key];
      } else if (Object.prototype.hasOwnProperty.call(values, el.name)) {
        el.value = values[el.name];
      }
    });
  }

  function same(a, b) {
    return JSON.stringify(a) === JSON.stringify(b);
  }

  function status(form, text) {
    var el = form.querySelector("[data-draft-status]");
    if (el) el.textContent = text;
  }

  function offer(form, store, key, draft) {
    var box = document.createElement("div");
    box.className = "alert alert-info d-flex flex-wrap align-items-center gap-2";
    box.setAttribute("role", "status");
    var text = document.createElement("span");
    var when = new Date(draft.savedAt);
    text.textContent = "You have an unsaved draft of this entry from " + when.toLocaleString() + ".";
    var restore = document.createElement("button");
    restore.type = "button";
    restore.className = "btn btn-primary btn-sm";
    restore.textContent = "Restore the draft";
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "btn btn-outline-secondary btn-sm";
    discard.textContent = "Discard it";
    restore.addEventListener("click", function () {
      apply(form, draft.fields);
      box.remove();
      status(form, "Draft restored. Save the entry to keep it.");
    });
    discard.addEventListener("click", function () {
      store.removeItem(key);
      box.remove();
    });
    box.appendChild(text);
    box.appendChild(restore);
    box.appendChild(discard);
    form.parentNode.insertBefore(box, form);
  }

  function watch(form, store) {
    var key = PREFIX + form.getAttribute("data-draft-key");
    var initial = fieldsOf(form);
    var raw = store.getItem(key);
    var draft = null;
    try {
      draft = raw ? JSON.parse(raw) : null;
    } catch (e) {
      store.removeItem(key);
    }
    if (draft && Date.now() - draft.savedAt > MAX_AGE_MS) {
      store.removeItem(key);
      draft = null;
    }
    if (draft && form.getAttribute("data-draft-restore") !== "off" && !same(draft.fields, initial)) {
      offer(form, store, key, draft);
    }
    var timer = null;
    function save() {
      timer = null;
      var now = fieldsOf(form);
      if (same(now, initial)) return;
      try {
        store.setItem(key, JSON.stringify({ savedAt: Date.now(), fields: now }));
        status(form, "Draft kept in this browser at " + new Date().toLocaleTimeString() + ".");
      } catch (e) {
        status(form, "");
      }
    }
    form.addEventListener("input", function () {
      if (timer) window.clearTimeout(timer);
      timer = window.setTimeout(save, 600);
    });
    form.addEventListener("change", function () {
      if (timer) window.clearTimeout(timer);
      save();
    });
    // The draft stays until the server confirms the save (the next page clears it): a failed save keeps it.
  }

  function sweep(store) {
    var stale = [];
    for (var i = 0; i < store.length; i++) {
      var key = store.key(i);
      if (!key || key.indexOf(PREFIX) !== 0 || key === PREFIX + "probe") continue;
      var draft = null;
      try {
        draft = JSON.parse(store.getItem(key));
      } catch (e) {
        draft = null;
      }
      var fresh = draft && typeof draft.savedAt === "number" && Date.now() - draft.savedAt <= MAX_AGE_MS;
      if (!fresh || !OWNED.test(key.slice(PREFIX.length))) stale.push(key);
    }
    stale.forEach(function (key) {
      store.removeItem(key);
    });
  }

  function init() {
    var store = storage();
    if (!store) return;
    sweep(store);
    Array.prototype.forEach.call(document.querySelectorAll("[data-draft-clear]"), function (el) {
      store.removeItem(PREFIX + el.getAttribute("data-draft-clear"));
    });
    Array.prototype.forEach.call(document.querySelectorAll("form[data-draft-key]"), function (form) {
      watch(form, store);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
