// Live shows: times are rendered by the server in China time; where the viewer's
// own time zone differs, add "your time: ..." beside them. Countdowns to a start
// ([data-countdown]) tick every second. Texts come translated in data-t-* attributes.
(function () {
  "use strict";
  var SHOW_ZONE = "Asia/Shanghai";

  function sameWallClock(date) {
    try {
      var opts = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" };
      return date.toLocaleString("en-US", Object.assign({ timeZone: SHOW_ZONE }, opts)) ===
        date.toLocaleString("en-US", opts);
    } catch (e) {
      return true;
    }
  }

  function localTimes() {
    var nodes = document.querySelectorAll("time[data-local-time]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var date = new Date(node.getAttribute("datetime"));
      if (isNaN(date.getTime()) || sameWallClock(date) || node.dataset.localDone) { continue; }
      node.dataset.localDone = "1";
      var text = date.toLocaleString(document.documentElement.lang || undefined,
        { dateStyle: "medium", timeStyle: "short" });
      var note = document.createElement("span");
      note.className = "local-time";
      note.textContent = " (" + (node.dataset.tYours || "{t}").replace("{t}", text) + ")";
      node.insertAdjacentElement("afterend", note);
    }
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function tick(node) {
    var start = new Date(node.dataset.countdown).getTime();
    var left = Math.floor((start - Date.now()) / 1000);
    if (isNaN(start)) { return false; }
    if (left <= 0) {
      node.textContent = node.dataset.tNow || "";
      return false;
    }
    var days = Math.floor(left / 86400);
    var rest = left % 86400;
    var clock = two(Math.floor(rest / 3600)) + ":" + two(Math.floor(rest % 3600 / 60)) + ":" + two(rest % 60);
    var text = (days > 0 ? (node.dataset.tDays || "{n} d").replace("{n}", days) + " " : "") + clock;
    node.textContent = (node.dataset.tIn || "{t}").replace("{t}", text);
    return true;
  }

  function countdowns() {
    var nodes = Array.prototype.slice.call(document.querySelectorAll("[data-countdown]"));
    nodes = nodes.filter(tick);
    if (!nodes.length) { return; }
    var timer = setInterval(function () {
      nodes = nodes.filter(tick);
      if (!nodes.length) { clearInterval(timer); }
    }, 1000);
  }

  localTimes();
  countdowns();
}());
