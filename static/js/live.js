// The live room, the host console and the replay page.
// - Player: hls.js (served from /vendor, when installed) where MediaSource is
//   available, else the browser's own HLS; the link below the player otherwise.
// - Room updates arrive by Server-Sent Events (pin, stock, chat, status, viewers);
//   EventSource reconnects by itself after a dropped connection and sends Last-Event-ID;
//   after an HTTP error (a busy server's 5xx/429) it gives up, so we reconnect with a
//   growing delay and ?last_event_id=, so nothing is missed either way.
// - Chat text is only ever set with textContent, never parsed as HTML.
// - Console: moderation buttons post with fetch; the show's orders are polled.
// Translated texts come in data-t-* attributes of #live-room.
(function () {
  "use strict";
  var room = document.getElementById("live-room");
  var d = room ? room.dataset : {};
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  function money(fen) {
    var sign = fen < 0 ? "-" : "";
    fen = Math.abs(fen);
    var yuan = Math.floor(fen / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var cents = fen % 100;
    return sign + "¥" + yuan + "." + (cents < 10 ? "0" : "") + cents;
  }

  function leftText(n) {
    return n > 0 ? (d.tLeft || "{n}").replace("{n}", n) : (d.tSoldOut || "");
  }

  // --- the player ---------------------------------------------------------------
  // hls.js (its light build, 120 KiB compressed, the page's largest part) is fetched once the page has
  // loaded and painted: on a slow phone the title, the pinned product and the buy button
  // show first, and the player's bytes do not compete with theirs.
  function startPlayer() {
    var video = document.getElementById("live-video");
    if (!video) { return null; }
    var hlsJs = video.dataset.hlsJs;
    if (!hlsJs || window.Hls) {
      play(video);
      return video;
    }
    var fetchHls = function () {
      var script = document.createElement("script");
      script.src = hlsJs;
      script.onload = script.onerror = function () { play(video); };  // without it: native HLS or the link
      document.head.appendChild(script);
    };
    var afterPaint = function () {  // a frame's callbacks run just before it is painted
      window.requestAnimationFrame(function () { window.setTimeout(fetchHls, 0); });
    };
    if (document.readyState === "complete") { afterPaint(); } else { window.addEventListener("load", afterPaint); }
    return video;
  }

  function play(video) {
    var src = video.dataset.src;
    var fallback = document.getElementById("player-fallback");
    if (window.Hls && window.Hls.isSupported()) {
      var hls = new window.Hls({ enableWorker: false });
      hls.on(window.Hls.Events.ERROR, function (event, data) {
        if (data.fatal && fallback) { fallback.classList.add("is-needed"); }
      });
      hls.loadSource(src);
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;
    } else if (fallback) {
      fallback.classList.add("is-needed");
      return;
    }
    var playing = video.play && video.play();
    if (playing && playing.catch) { playing.catch(function () { /* autoplay refused: the controls remain */ }); }
  }

  function replaySeeking(video) {
    var buttons = document.querySelectorAll("[data-seek]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].addEventListener("click", function (event) {
        if (!video) { return; }
        video.currentTime = Number(event.currentTarget.dataset.seek) || 0;
        var p = video.play();
        if (p && p.catch) { p.catch(function () {}); }
        video.scrollIntoView({ behavior: "smooth", block: "start" });
      });
    }
  }

  // --- pinned product and stock --------------------------------------------------
  function setText(id, text) {
    var node = document.getElementById(id);
    if (node) { node.textContent = text; }
    return node;
  }

  function renderPin(card) {
    var box = document.getElementById("pinned");
    if (!box) { return; }
    if (!card || card.product_id === null || card.product_id === undefined) {
      box.hidden = true;
      return;
    }
    var title = setText("pin-title", card.title);
    if (title && d.productUrl) { title.setAttribute("href", d.productUrl.replace(/0$/, String(card.product_id))); }
    setText("pin-unit", card.unit || "");
    setText("pin-live-price", money(card.live_price_fen));
    setText("pin-price", money(card.price_fen));
    var remaining = setText("pin-remaining", leftText(card.remaining));
    if (remaining) { remaining.dataset.productId = card.product_id; }
    var img = document.getElementById("pin-img");
    if (img) {
      var thumb = card.image_urls && card.image_urls.thumb;
      img.hidden = !thumb;
      if (thumb) { img.src = thumb; }
    }
    var input = document.getElementById("pin-product-id");
    if (input) { input.value = card.product_id; }
    box.hidden = false;
  }

  function forProduct(selector, productId, change) {
    var nodes = document.querySelectorAll(selector);
    for (var i = 0; i < nodes.length; i++) {
      if (String(nodes[i].dataset.productId) === String(productId)) { change(nodes[i]); }
    }
  }

  function renderStock(data) {
    forProduct(".js-remaining, #pin-remaining", data.product_id, function (node) {
      node.textContent = leftText(data.remaining);
    });
    if (data.sold === undefined || data.quota === undefined) { return; }  // (events stored before they said)
    // the console: "sold X of Y", and a quota can no longer be set below what is sold
    forProduct(".js-sold", data.product_id, function (node) {
      node.textContent = (d.tSold || "{sold} / {quota}").replace("{sold}", data.sold).replace("{quota}", data.quota);
    });
    forProduct(".js-quota", data.product_id, function (input) {
      input.min = data.sold;
      if (document.activeElement !== input) { input.value = data.quota; }
    });
  }

  // The show ended (the host, or its scheduled end passed): the room says so in place.
  // Every viewer gets this event at once, and a crowd reloading together would land on
  // the pages service at the same moment; the console reloads (its controls change).
  function showEnded() {
    var badge = document.getElementById("live-status");
    if (badge) {
      badge.textContent = d.tEnded || "";
      badge.className = badge.className.replace(/\bbadge-\w+/, "badge-ended");
    }
    var notice = document.getElementById("live-ended");
    if (notice) { notice.hidden = false; }
    var pinned = document.getElementById("pinned");
    if (pinned) { pinned.hidden = true; }
    var video = document.getElementById("live-video");
    if (video && video.pause) { video.pause(); }
    var gone = document.querySelectorAll(".buy-form, #chat-form, .player");
    for (var i = 0; i < gone.length; i++) { gone[i].parentNode.removeChild(gone[i]); }
  }

  // --- chat ------------------------------------------------------------------------
  var list = document.getElementById("chat-list");
  var shown = {};
  if (list) {
    Array.prototype.forEach.call(list.querySelectorAll("li[data-id]"), function (li) { shown[li.dataset.id] = li; });
    list.scrollTop = list.scrollHeight;
  }

  function post(url, body) {
    var headers = { "X-CSRFToken": csrf, "Accept": "application/json" };
    if (body) { headers["Content-Type"] = "application/json"; }
    return fetch(url, { method: "POST", credentials: "same-origin", headers: headers,
                        body: body ? JSON.stringify(body) : null })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) { return { ok: r.ok, data: data }; });
      });
  }

  function showError(res) {
    var text = (res && res.data && res.data.error && res.data.error.message) || d.tError || "";
    setText("chat-error", text);
  }

  function moderationButton(messageId, action, label) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    button.textContent = label;
    button.addEventListener("click", function () {
      var url = d.moderateUrl.replace(/\/chat\/0\/delete$/, "/chat/" + messageId + "/" + action);
      moderate(url, messageId, action);
    });
    return button;
  }

  function moderate(url, messageId, action) {
    post(url).then(function (res) {
      if (!res.ok) { showError(res); return; }
      setText("chat-error", "");
      if (action === "delete") { removeChat(messageId); } else { setText("chat-error", res.data.message || ""); }
    }, function () { showError(null); });
  }

  function removeChat(messageId) {
    var li = shown[messageId];
    if (li && li.parentNode) { li.parentNode.removeChild(li); }
  }

  function addChat(m) {
    if (!list || !m) { return; }
    if (m.deleted) { removeChat(m.message_id); return; }
    if (shown[m.message_id]) { return; }
    var li = document.createElement("li");
    li.dataset.id = m.message_id;
    var who = document.createElement("strong");
    who.textContent = m.author || "";
    var body = document.createElement("span");
    body.textContent = m.body || "";
    li.appendChild(who);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(body);
    if (d.console && d.moderateUrl) {
      li.appendChild(document.createTextNode(" "));
      li.appendChild(moderationButton(m.message_id, "delete", d.tDelete));
      li.appendChild(document.createTextNode(" "));
      li.appendChild(moderationButton(m.message_id, "mute", d.tMute));
    }
    var atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.appendChild(li);
    shown[m.message_id] = li;
    while (list.children.length > 200) {
      delete shown[list.firstElementChild.dataset.id];
      list.removeChild(list.firstElementChild);
    }
    if (atBottom) { list.scrollTop = list.scrollHeight; }
  }

  function chatForm() {
    var form = document.getElementById("chat-form");
    if (!form) { return; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var input = form.elements.body;
      var text = input.value.trim();
      if (!text) { return; }
      var button = form.querySelector("button");
      button.disabled = true;
      post(form.action, { body: text }).then(function (res) {
        if (res.ok) {
          input.value = "";
          setText("chat-error", "");
          addChat(res.data);
        } else {
          showError(res);
        }
      }, function () { showError(null); }).then(function () { button.disabled = false; });
    });
  }

  function moderationForms() {
    Array.prototype.forEach.call(document.querySelectorAll("form.js-moderate"), function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var parts = form.action.split("/");
        moderate(form.action, parts[parts.length - 2], parts[parts.length - 1]);
      });
    });
  }

  // --- the event stream ------------------------------------------------------------
  function parse(event) {
    try { return JSON.parse(event.data); } catch (e) { return null; }
  }

  var lastEventId = "";
  var retryDelay = 1000;
  // A form that is not handled by script (the console's start, end, pin buttons) is a
  // navigation under way; capture phase, so handlers that cancel it run later and reset it.
  var submitting = false;
  document.addEventListener("submit", function (event) {
    submitting = true;
    window.setTimeout(function () { if (event.defaultPrevented) { submitting = false; } }, 0);
  }, true);

  function connect() {
    if (!d.eventsUrl || !window.EventSource) { return; }
    var url = d.eventsUrl;
    if (lastEventId) { url += (url.indexOf("?") < 0 ? "?" : "&") + "last_event_id=" + encodeURIComponent(lastEventId); }
    var source = new EventSource(url);
    source.addEventListener("open", function () { retryDelay = 1000; });
    source.addEventListener("error", function () {
      if (source.readyState !== EventSource.CLOSED) { return; }  // the browser is retrying itself
      window.setTimeout(connect, retryDelay + Math.floor(Math.random() * 500));
      retryDelay = Math.min(retryDelay * 2, 30000);
    });
    ["pin", "stock", "chat", "status"].forEach(function (kind) {
      source.addEventListener(kind, function (e) { if (e.lastEventId) { lastEventId = e.lastEventId; } });
    });
    source.addEventListener("pin", function (e) { renderPin(parse(e)); });
    source.addEventListener("stock", function (e) { var s = parse(e); if (s) { renderStock(s); } });
    source.addEventListener("chat", function (e) { addChat(parse(e)); });
    source.addEventListener("connection", function (e) {
      var c = parse(e);
      var notice = document.getElementById("live-delayed");
      if (c && notice) { notice.hidden = c.state !== "delayed"; }
    });
    source.addEventListener("viewers", function (e) {
      var v = parse(e);
      if (v) { setText("viewer-count", String(v.count)); }
    });
    source.addEventListener("status", function (e) {
      var s = parse(e);
      if (s && s.status && s.status !== d.status) {
        d.status = s.status;
        source.close();
        if (s.status === "ended" && !d.console) { showEnded(); return; }
        // The host's own "Go live" / "End" form is on its way: its answer brings the new
        // state and the confirmation, which a reload now would cut off.
        if (submitting) { return; }
        window.setTimeout(function () { if (!submitting) { window.location.reload(); } }, 500);
      }
    });
  }

  // --- the console's orders ----------------------------------------------------------
  function pollOrders() {
    if (!d.ordersUrl) { return; }
    var body = document.getElementById("orders-body");
    function cell(row, text) {
      var td = document.createElement("td");
      td.textContent = text;
      row.appendChild(td);
    }
    function load() {
      fetch(d.ordersUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data || !body) { return; }
          var empty = document.getElementById("orders-empty");
          if (empty) { empty.hidden = data.items.length > 0; }
          body.textContent = "";
          data.items.forEach(function (line) {
            var tr = document.createElement("tr");
            tr.dataset.lineId = line.line_id;
            [ "#" + line.order_id, line.buyer, line.title, String(line.quantity), money(line.line_total_fen),
              line.status_label || line.status ].forEach(function (text) { cell(tr, text); });
            body.appendChild(tr);
          });
          setText("viewer-count", String(data.viewers));
          setText("peak-viewers", String(data.peak_viewers));
        }, function () { /* try again next time */ });
    }
    load();
    window.setInterval(load, 5000);
  }

  var video = startPlayer();
  replaySeeking(video);
  if (!room) { return; }
  chatForm();
  moderationForms();
  connect();
  pollOrders();
}());
