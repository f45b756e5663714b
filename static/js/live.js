// Keeps dashboard pages current without reloading them.
//
// An element with data-live-url is a live region. While it shows something
// running (data-live-running="true", later the X-Live-Running header), it
// asks its URL every data-live-interval milliseconds with If-None-Match; a
// 304 costs nothing, a 200 brings the region's new HTML, which is merged by
// element id:
//
//   - an element whose data-v did not change is kept as it is;
//   - an element marked data-live-children keeps itself and has its children
//     merged the same way;
//   - anything else is replaced.
//
// A <details> the user opened or closed keeps that state, and a log keeps its
// scroll position (or keeps following the end, if it was at the end). Nothing
// outside the region, such as the search bar, is touched. When nothing runs
// any more it stops asking; coming back to the tab checks once.
//
// It also keeps relative times ("4 min ago") and running durations current.
// No inline script anywhere: this file is the only script the pages load.
(function () {
  "use strict";

  function ago(then, now) {
    var seconds = (now - then) / 1000;
    if (seconds < 45) return "just now";
    var minutes = Math.round(seconds / 60);
    if (minutes < 60) return minutes + " min ago";
    var hours = Math.round(seconds / 3600);
    if (hours < 24) return hours + " h ago";
    var days = Math.round(seconds / 86400);
    if (days < 30) return days === 1 ? "1 day ago" : days + " days ago";
    return null; // older dates are written as dates, which do not change
  }

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    if (seconds < 60) return seconds + "s";
    if (seconds < 3600) return Math.floor(seconds / 60) + "m " + pad(seconds % 60) + "s";
    return Math.floor(seconds / 3600) + "h " + pad(Math.floor(seconds / 60) % 60) + "m";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-ago]").forEach(function (el) {
      var text = ago(Date.parse(el.dateTime), now);
      if (text && el.textContent !== text) el.textContent = text;
    });
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var text = duration((now - Date.parse(el.dataset.since)) / 1000);
      if (el.textContent !== text) el.textContent = text;
    });
  }

  // -- merging -------------------------------------------------------------

  function childrenById(parent) {
    var map = new Map();
    for (var el = parent.firstElementChild; el; el = el.nextElementSibling) {
      if (el.id) map.set(el.id, el);
    }
    return map;
  }

  function copyAttributes(target, source) {
    Array.from(target.attributes).forEach(function (a) {
      if (!source.hasAttribute(a.name) && a.name !== "open") target.removeAttribute(a.name);
    });
    Array.from(source.attributes).forEach(function (a) {
      if (a.name !== "open" && target.getAttribute(a.name) !== a.value) {
        target.setAttribute(a.name, a.value);
      }
    });
  }

  function merge(oldParent, newParent) {
    var old = childrenById(oldParent);
    var wanted = [];
    Array.from(newParent.children).forEach(function (fresh) {
      var kept = fresh.id ? old.get(fresh.id) : null;
      if (kept && kept.tagName === fresh.tagName) {
        if (fresh.hasAttribute("data-v") && kept.getAttribute("data-v") === fresh.getAttribute("data-v")) {
          wanted.push(kept);
          return;
        }
        if (fresh.hasAttribute("data-live-children")) {
          copyAttributes(kept, fresh);
          merge(kept, fresh);
          wanted.push(kept);
          return;
        }
      }
      wanted.push(fresh);
    });
    // Drop what is no longer wanted first, so that kept elements are not
    // moved (moving an element would reset its scroll position).
    var keep = new Set(wanted);
    Array.from(oldParent.children).forEach(function (el) {
      if (!keep.has(el)) el.remove();
    });
    var cursor = oldParent.firstElementChild;
    wanted.forEach(function (el) {
      if (el === cursor) {
        cursor = cursor.nextElementSibling;
      } else {
        oldParent.insertBefore(el, cursor);
      }
    });
  }

  // <details> the user opened or closed, by id, for the life of the page.
  var chosen = new Map();
  document.addEventListener("click", function (event) {
    var summary = event.target.closest && event.target.closest("summary");
    var details = summary && summary.parentElement;
    if (details && details.tagName === "DETAILS" && details.id) {
      // The click toggles it after this handler runs.
      chosen.set(details.id, !details.open);
    }
  }, true);

  function apply(region, html) {
    var scrolls = new Map();
    region.querySelectorAll("pre[id]").forEach(function (pre) {
      scrolls.set(pre.id, {
        top: pre.scrollTop,
        left: pre.scrollLeft,
        atEnd: pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4,
      });
    });

    var template = document.createElement("template");
    template.innerHTML = html;
    merge(region, template.content);

    region.querySelectorAll("details[id]").forEach(function (details) {
      if (chosen.has(details.id)) details.open = chosen.get(details.id);
    });
    region.querySelectorAll("pre[id]").forEach(function (pre) {
      var was = scrolls.get(pre.id);
      if (!was) return;
      pre.scrollLeft = was.left;
      pre.scrollTop = was.atEnd ? pre.scrollHeight : was.top;
    });
    tick();
    region.dispatchEvent(new CustomEvent("live:updated", { bubbles: true }));
  }

  // -- polling ---------------------------------------------------------------

  function watch(region) {
    var url = region.dataset.liveUrl;
    var etag = region.dataset.liveEtag || "";
    var running = region.dataset.liveRunning === "true";
    var interval = Number(region.dataset.liveInterval) || 3000;
    var delay = interval;
    var timer = null;
    var busy = false;

    function schedule() {
      if (timer || busy || !running || document.hidden) return;
      timer = setTimeout(poll, delay);
    }

    function poll() {
      timer = null;
      busy = true;
      var headers = { "X-Requested-With": "live" };
      if (etag) headers["If-None-Match"] = etag;
      fetch(url, { headers: headers, cache: "no-store", credentials: "same-origin", redirect: "manual" })
        .then(function (response) {
          if (response.type === "opaqueredirect" || response.status === 403 || response.status === 404) {
            running = false; // signed out, or the page is gone: a reload will say
            return null;
          }
          if (response.status >= 500) {
            delay = Math.min(delay * 2, 60000);
            return null;
          }
          delay = interval;
          running = response.headers.get("X-Live-Running") === "1";
          if (response.status !== 200) return null;
          etag = response.headers.get("ETag") || "";
          return response.text().then(function (html) { apply(region, html); });
        })
        .catch(function () { delay = Math.min(delay * 2, 60000); })
        .then(function () {
          busy = false;
          region.dataset.liveRunning = running ? "true" : "false";
          schedule();
        });
    }

    document.addEventListener("visibilitychange", function () {
      if (document.hidden) {
        clearTimeout(timer);
        timer = null;
      } else if (!timer && !busy) {
        poll(); // one cheap check on coming back, running or not
      }
    });
    schedule();
  }

  function start() {
    document.querySelectorAll("[data-live-url]").forEach(watch);
    tick();
    setInterval(tick, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
