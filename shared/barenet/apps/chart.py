"""The status page's live chart: HTML and an inline script (no external files: a board's page
must work without the internet) that fetches `/?format=samples` every second and draws, per
connection, a canvas of cwnd and ssthresh (top, bytes) and srtt and RTO (bottom, ms). Imported
only when the page samples (config status_samples), so a board without it does not hold the
script. The script writes what it drew into data- attributes (data-updates on the box,
data-points on each canvas), so a test can read the result from the DOM.
"""

# cwnd blue, ssthresh orange, srtt green, RTO grey, as `barenet plot` draws them (plot.py);
# the script below has no other % than these keys
COLOURS = {"cwnd": "#1f4fd0", "ssthresh": "#e07010", "srtt_ms": "#1a9a2a", "rto_ms": "#606060"}

HTML = """<h2>cwnd and RTT</h2><div id="charts" data-updates="0"></div>
<script>
(function () {
  var box = document.getElementById("charts"), updates = 0;
  var W = 720, H = 220, M = 40;
  function line(g, pts, k, lo, hi, y0, h, colour, dash) {
    // A step line, as `barenet plot` draws: each value holds until the next sample, the last
    // to the right edge (one sample alone spans the chart).
    var i, t0 = pts[0][0], t1 = pts[pts.length - 1][0], y = null;
    g.strokeStyle = colour; g.lineWidth = 2; g.setLineDash(dash ? [6, 4] : []);
    g.beginPath();
    for (i = 0; i < pts.length; i++) {
      if (pts[i][k] === null) { continue; }
      var x = M + (W - 2 * M) * (t1 > t0 ? (pts[i][0] - t0) / (t1 - t0) : 0);
      var ny = y0 + h - h * (pts[i][k] - lo) / (hi - lo || 1);
      if (y === null) { g.moveTo(x, ny); } else { g.lineTo(x, y); g.lineTo(x, ny); }
      y = ny;
    }
    if (y !== null) { g.lineTo(W - M, y); g.stroke(); }
  }
  function top(pts, keys) {   // the scale: the largest value with a tenth of headroom
    var m = 1, i, j;
    for (i = 0; i < pts.length; i++) {
      for (j = 0; j < keys.length; j++) {
        if (pts[i][keys[j]] !== null && pts[i][keys[j]] > m) { m = pts[i][keys[j]]; }
      }
    }
    return Math.ceil(m * 1.1);
  }
  function draw(cv, pts) {
    var g = cv.getContext("2d"), half = (H - 30) / 2;
    g.clearRect(0, 0, W, H);
    g.fillStyle = "#000"; g.font = "11px sans-serif";
    var bytes = top(pts, [1, 2]), ms = top(pts, [3, 4]);
    g.fillText("cwnd (blue), ssthresh (orange): 0 to " + bytes + " bytes", M, 12);
    g.fillText("srtt (green), rto (grey): 0 to " + ms + " ms", M, half + 27);
    g.strokeStyle = "#ccc"; g.lineWidth = 1; g.setLineDash([]);
    g.strokeRect(M, 15, W - 2 * M, half); g.strokeRect(M, half + 30, W - 2 * M, half - 15);
    line(g, pts, 1, 0, bytes, 15, half, "%(cwnd)s", false);
    line(g, pts, 2, 0, bytes, 15, half, "%(ssthresh)s", true);
    line(g, pts, 3, 0, ms, half + 30, half - 15, "%(srtt_ms)s", false);
    line(g, pts, 4, 0, ms, half + 30, half - 15, "%(rto_ms)s", true);
  }
  function update() {
    fetch("/?format=samples").then(function (r) { return r.json(); }).then(function (d) {
      var seen = {}, i, c, cv, r;
      for (i = 0; i < d.connections.length; i++) {
        c = d.connections[i];
        seen[c.name] = true;
        cv = box.querySelector('canvas[data-conn="' + c.name + '"]');
        if (!cv) {
          var h = document.createElement("h3");
          h.textContent = c.name;
          h.setAttribute("data-conn", c.name);
          cv = document.createElement("canvas");
          cv.width = W; cv.height = H;
          cv.setAttribute("data-conn", c.name);
          box.appendChild(h); box.appendChild(cv);
        }
        if (c.samples.length) { draw(cv, c.samples); }
        r = cv.getBoundingClientRect();
        cv.setAttribute("data-points", c.samples.length);
        cv.setAttribute("data-box", [Math.round(r.left), Math.round(r.top),
                                     Math.round(r.width), Math.round(r.height)].join(","));
      }
      var old = box.querySelectorAll("[data-conn]");
      for (i = 0; i < old.length; i++) {
        if (!seen[old[i].getAttribute("data-conn")]) { box.removeChild(old[i]); }
      }
      box.setAttribute("data-updates", ++updates);
    }).catch(function (e) { box.setAttribute("data-error", String(e)); });
  }
  update();
  setInterval(update, 1000);
})();
</script>
""" % COLOURS
