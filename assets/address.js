// The view's controls live in the address (issue 20): every change of year, as-of, method, weights,
// peer group, language or palette rewrites the query string in place (history.replaceState: no new
// history entry, no reload), keeping the page's own parameters (office=, status=, scheme=, ...).
// A link, a bookmark or the back button then carries the view; dashboard/shell.py applies the
// address's values to the controls when a page is opened.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  address: {
    write: function (pathname, search, year, asOf, method, peer, weights, lang, palette, defaults) {
      var params = new URLSearchParams(window.location.search);
      // Opened from an address (a link, a bookmark, back): the address's values are the view and are
      // being applied to the controls; only the values it lacks are added. A control changed: its
      // value replaces the address's.
      var triggered = (window.dash_clientside.callback_context || {}).triggered || [];
      var byControl = triggered.some(function (t) { return t.prop_id && t.prop_id.indexOf("url.") !== 0; }) &&
        triggered.every(function (t) { return t.prop_id && t.prop_id !== "."; });
      var set = function (key, value) {
        if (!byControl && params.has(key)) {
          return;
        }
        if (value === null || value === undefined || value === "") {
          params.delete(key);
        } else {
          params.set(key, String(value));
        }
      };
      set("year", year);
      set("as_of", asOf ? String(asOf).slice(0, 10) : null);
      set("method", method);
      set("peer", peer);
      set("lang", lang);
      if (window.ipdashLocale) {
        window.ipdashLocale(lang); // the calendar's and the charts' own words in the page's language
      }
      set("palette", palette);
      var w = (weights || []).map(Number);
      var base = (defaults && defaults.weights) || [];
      var same = w.length === base.length && w.every(function (x, i) { return x === base[i]; });
      set("w", same || !w.length ? null : w.join(","));
      var query = params.toString();
      var target = window.location.pathname + (query ? "?" + query : "") + window.location.hash;
      if (target !== window.location.pathname + window.location.search + window.location.hash) {
        window.history.replaceState(window.history.state, "", target);
      }
      return query;
    }
  }
});

// Presentation mode (issue 20): the figures alone, full screen, for a meeting; the button or Esc ends it.
window.dash_clientside.present = {
  toggle: function (n) {
    var on = !document.body.classList.contains("presenting");
    document.body.classList.toggle("presenting", on);
    if (on && document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen().catch(function () {});
    } else if (!on && document.fullscreenElement && document.exitFullscreen) {
      document.exitFullscreen().catch(function () {});
    }
    return on ? "button secondary present on" : "button secondary present";
  }
};
document.addEventListener("fullscreenchange", function () {
  if (!document.fullscreenElement) {
    document.body.classList.remove("presenting");
  }
});

// Every table of figures (class "ranking") sorts by a click on its heading (numbers as numbers,
// "3 / 32" by its first number, "—" last) and offers its rows as a CSV file (UTF-8, for Excel).
(function () {
  function key(cell) {
    var text = (cell && cell.innerText || "").trim();
    var number = parseFloat(text.replace(/[,，%]/g, "").replace(/^[▲▼+]/, ""));
    if (text.indexOf("▼") === 0) { number = -number; }
    return isNaN(number) ? (text === "—" || text === "" ? null : text) : number;
  }
  document.addEventListener("click", function (event) {
    var th = event.target.closest && event.target.closest("table.ranking > thead th");
    if (th) {
      var table = th.closest("table");
      var body = table.tBodies[0];
      if (!body) { return; }
      var col = Array.prototype.indexOf.call(th.parentNode.children, th);
      var up = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a.cells[col]), y = key(b.cells[col]);
        if (x === null) { return y === null ? 0 : 1; }
        if (y === null) { return -1; }
        var c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), "zh");
        return up ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
      return;
    }
    var button = event.target.closest && event.target.closest("button.table-csv");
    if (button) {
      var holder = button.closest(".table-holder, .card") || button.parentNode;
      var target = holder.querySelector("table.ranking");
      if (!target) { return; }
      var lines = Array.prototype.map.call(target.rows, function (row) {
        return Array.prototype.map.call(row.cells, function (cell) {
          var text = cell.innerText.replace(/\s+/g, " ").trim();
          if (/^[=+\-@]/.test(text)) { text = "'" + text; }  // never a formula in Excel
          return '"' + text.replace(/"/g, '""') + '"';
        }).join(",");
      });
      var blob = new Blob(["\ufeff" + lines.join("\r\n")], { type: "text/csv;charset=utf-8" });
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = (button.getAttribute("data-name") || "ipdash-table") + ".csv";
      link.click();
      URL.revokeObjectURL(link.href);
    }
  });
})();

// Signing out forgets the controls this tab remembered (Dash keeps them in sessionStorage), so the
// next user to sign in here starts from the official view, not the previous user's what-if.
document.addEventListener("submit", function (event) {
  if (event.target && event.target.querySelector && event.target.querySelector("#sign-out")) {
    try { window.sessionStorage.clear(); } catch (e) { /* storage unavailable: nothing kept */ }
  }
}, true);
