// tailrace report: legend toggles and a hover readout. The charts are
// drawn without this script; it only reads them. Each line chart carries
// its scales (data-x, data-y: "lin|log min max pixelLo pixelHi"), so a
// pixel of a path converts back to a value without a copy of the data.
(function () {
  "use strict";
  function fmtUS(v) {
    if (v < 1000) return Math.round(v) + "\u00b5s";
    if (v < 1e6) return (v / 1e3).toFixed(2) + "ms";
    return (v / 1e6).toFixed(3) + "s";
  }
  function fmt(unit, v) {
    switch (unit) {
      case "us": return fmtUS(v);
      case "s": return v.toFixed(1) + "s";
      case "q": return (100 * (1 - 1 / v)).toFixed(Math.max(1, Math.ceil(Math.log10(v)) - 1)) + "%";
      case "rate": return v.toFixed(1) + "/s";
      default: return String(Math.round(v * 10) / 10);
    }
  }
  function scale(attr) {
    var p = (attr || "lin 0 1 0 1").split(" ");
    return { log: p[0] === "log", min: +p[1], max: +p[2], lo: +p[3], hi: +p[4] };
  }
  function invert(s, px) {
    var min = s.min, max = s.max;
    if (s.log) { min = Math.log10(min); max = Math.log10(max); }
    var v = min + (px - s.lo) / (s.hi - s.lo) * (max - min);
    return s.log ? Math.pow(10, v) : v;
  }
  function points(path) {
    if (!path.tailracePts) {
      var nums = (path.getAttribute("d") || "").match(/-?[\d.]+/g) || [];
      var pts = [];
      for (var i = 0; i + 1 < nums.length; i += 2) pts.push([+nums[i], +nums[i + 1]]);
      path.tailracePts = pts;
    }
    return path.tailracePts;
  }
  function nearest(pts, x) {
    var lo = 0, hi = pts.length - 1;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (pts[mid][0] < x) lo = mid + 1; else hi = mid;
    }
    if (lo > 0 && Math.abs(pts[lo - 1][0] - x) <= Math.abs(pts[lo][0] - x)) lo--;
    return pts[lo];
  }

  document.querySelectorAll(".legend[data-for]").forEach(function (lg) {
    var svg = document.getElementById(lg.getAttribute("data-for"));
    if (!svg) return;
    lg.addEventListener("click", function (ev) {
      var b = ev.target.closest("button[data-i]");
      if (!b) return;
      var g = svg.querySelector('g[data-i="' + b.getAttribute("data-i") + '"]');
      if (g) b.classList.toggle("off", g.classList.toggle("off"));
    });
  });

  var tip = document.getElementById("tip");
  document.querySelectorAll('svg.chart[data-chart="line"]').forEach(function (svg) {
    var xs = scale(svg.getAttribute("data-x")), ys = scale(svg.getAttribute("data-y"));
    var xu = svg.getAttribute("data-xunit"), yu = svg.getAttribute("data-yunit");
    var cursor = document.createElementNS("http://www.w3.org/2000/svg", "line");
    cursor.setAttribute("class", "cursor");
    cursor.setAttribute("y1", ys.hi);
    cursor.setAttribute("y2", ys.lo);
    cursor.setAttribute("visibility", "hidden");
    svg.appendChild(cursor);
    function hide() {
      tip.hidden = true;
      cursor.setAttribute("visibility", "hidden");
    }
    svg.addEventListener("mouseleave", hide);
    svg.addEventListener("mousemove", function (ev) {
      var m = svg.getScreenCTM();
      if (!m || !tip) return;
      var pt = svg.createSVGPoint();
      pt.x = ev.clientX;
      pt.y = ev.clientY;
      var p = pt.matrixTransform(m.inverse());
      if (p.x < xs.lo || p.x > xs.hi) { hide(); return; }
      var rows = [], at = null;
      svg.querySelectorAll("g[data-i]:not(.off)").forEach(function (g) {
        var path = g.querySelector("path"), pts = path ? points(path) : [];
        if (!pts.length) return;
        var q = nearest(pts, p.x);
        if (at === null) at = q[0];
        rows.push(g.getAttribute("data-name") + ": " + fmt(yu, invert(ys, q[1])));
      });
      if (at === null) { hide(); return; }
      cursor.setAttribute("x1", at);
      cursor.setAttribute("x2", at);
      cursor.setAttribute("visibility", "visible");
      tip.textContent = fmt(xu, invert(xs, at)) + "\n" + rows.join("\n");
      tip.hidden = false;
      tip.style.left = (ev.clientX + 14) + "px";
      tip.style.top = (ev.clientY + 10) + "px";
    });
  });

  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
})();
