// Roster sync progress: polls the job's status (GET /api/v1/roster/syncs/<id>, authenticated with the
// launch token the page carries, since third-party cookies may be blocked in the LMS frame), moves the
// progress bar and the counts, and reloads the page for the summary when the job has ended.
// An external file because the content security policy forbids inline scripts.
(function () {
  "use strict";

  var section = document.getElementById("roster-sync");
  if (!section) {
    return;
  }
  var statusUrl = section.getAttribute("data-status-url");
  var pageUrl = section.getAttribute("data-page-url");
  var token = section.getAttribute("data-launch-token");
  var bar = document.getElementById("roster-sync-bar");
  var progress = bar ? bar.parentElement : null;
  var heading = document.getElementById("roster-sync-status");
  var delay = 1000;
  var failures = 0;

  function setCount(name, value) {
    var nodes = section.querySelectorAll('[data-count="' + name + '"]');
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].textContent = String(value);
    }
  }

  function show(job) {
    var percent = Math.round((job.progress || 0) * 100);
    if (bar) {
      bar.style.width = percent + "%";
    }
    if (progress) {
      progress.setAttribute("aria-valuenow", String(percent));
    }
    ["processed", "total", "added", "updated", "deactivated", "unchanged", "skipped", "enriched"].forEach(
      function (name) {
        if (job[name] !== null && job[name] !== undefined) {
          setCount(name, job[name]);
        }
      }
    );
    if (heading && job.status === "running") {
      heading.textContent = "Syncing the roster\u2026";
    }
  }

  function poll() {
    var headers = { Accept: "application/json" };
    if (token) {
      headers.Authorization = "Bearer " + token;
    }
    fetch(statusUrl, { headers: headers, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (job) {
        failures = 0;
        show(job);
        if (job.status === "done" || job.status === "failed") {
          window.location.replace(pageUrl);
          return;
        }
        // Slow down gently on long syncs: a big roster does not need a request every second.
        delay = Math.min(delay * 1.2, 5000);
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        failures += 1;
        if (failures >= 5) {
          if (heading) {
            heading.textContent = "The sync goes on, but its progress cannot be shown. Reload the page later.";
          }
          return;
        }
        window.setTimeout(poll, 3000);
      });
  }

  window.setTimeout(poll, 500);
})();
