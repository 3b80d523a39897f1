// The industry map: the vendored district/city boundaries drawn by ECharts (no tiles), the organisations as points
// coloured by track, grouped into clusters when they sit closer than CLUSTER_PX on screen (re-grouped on zoom).
// A click on an organisation opens its card; a click on a cluster zooms in on it.
(function () {
  "use strict";
  var fc = JSON.parse(document.getElementById("map-data").textContent);
  var L = JSON.parse(document.getElementById("map-labels").textContent);
  var el = document.getElementById("map");
  if (typeof echarts === "undefined") { return; }
  var CLUSTER_PX = 26;
  var TRACKS = Object.keys(L.tracks);
  var COLOURS = ["#2563eb", "#7c3aed", "#0d9488", "#d97706", "#db2777", "#16a34a", "#0891b2"];
  var en = L.lang === "en";
  function colourOf(track) { var i = TRACKS.indexOf(track); return i < 0 ? "#6b7280" : COLOURS[i % COLOURS.length]; }
  function primary(p) { return (p.leader_of && p.leader_of[0]) || (p.tracks && p.tracks[0]) || null; }
  function nameOf(p) { return (en && p.name_en) || p.name; }

  fetch("/dashboard/industry/regions.geojson", { credentials: "same-origin" }).then(function (r) {
    if (!r.ok) { throw new Error("boundaries: HTTP " + r.status); }
    return r.json();
  }).then(function (geo) {
    if (en) { geo.features.forEach(function (f) { f.properties.name = f.properties.name_en; }); }
    echarts.registerMap("clinmatch-cluster", geo);
    draw();
  });

  function draw() {
    var chart = echarts.init(el, null, { renderer: "canvas" });
    var bbox = fc.bbox;
    chart.setOption({
      animation: false,
      tooltip: { show: false },  // ECharts' HTML tooltip writes style attributes the CSP refuses: a title instead
      title: { text: "", right: 10, top: 6, textStyle: { fontSize: 13, fontWeight: "normal", color: "#111827" } },
      legend: { show: true, orient: "vertical", left: 8, bottom: 8, data: TRACKS.map(function (t) { return L.tracks[t]; })
        .concat([L.no_track]), textStyle: { fontSize: 11 } },
      geo: { map: "clinmatch-cluster", roam: true, boundingCoords: [[bbox[0], bbox[3]], [bbox[2], bbox[1]]],
        scaleLimit: { min: 0.8, max: 60 }, label: { show: false },
        itemStyle: { areaColor: "#eef2ff", borderColor: "#94a3b8", borderWidth: 0.8 },
        emphasis: { label: { show: true, fontSize: 11 }, itemStyle: { areaColor: "#c7d2fe" } }, select: { disabled: true } },
      series: []
    });
    function cluster() {
      var groups = [];
      fc.features.forEach(function (f) {
        var px = chart.convertToPixel({ geoIndex: 0 }, f.geometry.coordinates);
        if (!px) { return; }
        var g = null;
        for (var i = 0; i < groups.length; i++) {
          var dx = groups[i].px[0] - px[0], dy = groups[i].px[1] - px[1];
          if (dx * dx + dy * dy < CLUSTER_PX * CLUSTER_PX) { g = groups[i]; break; }
        }
        if (g) { g.members.push(f); } else { groups.push({ px: px, members: [f] }); }
      });
      var byTrack = {}, clusters = [];
      groups.forEach(function (g) {
        if (g.members.length === 1) {
          var f = g.members[0], t = primary(f.properties) || "none";
          (byTrack[t] = byTrack[t] || []).push({ name: nameOf(f.properties), value: f.geometry.coordinates.concat([1]),
            id: f.properties.id, org: true, symbol: f.properties.leader_of.length ? "diamond" : "circle",
            symbolSize: f.properties.leader_of.length ? 16 : 11 });
        } else {
          var lon = 0, lat = 0;
          g.members.forEach(function (f) { lon += f.geometry.coordinates[0]; lat += f.geometry.coordinates[1]; });
          clusters.push({ name: g.members.map(function (f) { return nameOf(f.properties); }).join(" / "),
            value: [lon / g.members.length, lat / g.members.length, g.members.length], count: g.members.length,
            symbolSize: 18 + 4 * Math.min(g.members.length, 8) });
        }
      });
      var series = TRACKS.concat(["none"]).map(function (t) {
        return { type: "scatter", coordinateSystem: "geo", name: t === "none" ? L.no_track : L.tracks[t],
          data: byTrack[t] || [], itemStyle: { color: colourOf(t), borderColor: "#fff", borderWidth: 1 },
          emphasis: { label: { show: true, formatter: "{b}", position: "right", fontSize: 12 } } };
      });
      series.push({ type: "scatter", coordinateSystem: "geo", name: L.cluster, data: clusters,
        itemStyle: { color: "#1e3a8a", opacity: 0.85, borderColor: "#fff", borderWidth: 2 },
        label: { show: true, formatter: function (p) { return String(p.data.count); }, color: "#fff", fontWeight: "bold" },
        emphasis: { label: { show: true } } });
      chart.setOption({ series: series }, { replaceMerge: ["series"] });
      var singles = groups.filter(function (g) { return g.members.length === 1; }).length;
      el.setAttribute("data-markers", String(fc.features.length));
      el.setAttribute("data-points", String(singles));
      el.setAttribute("data-clusters", String(groups.length - singles));
      el.setAttribute("data-clustered", String(groups.reduce(function (n, g) {
        return n + (g.members.length > 1 ? g.members.length : 0); }, 0)));
    }
    cluster();
    chart.on("georoam", function () { window.requestAnimationFrame(cluster); });
    chart.on("mouseover", function (p) {
      if (p.componentType === "series") { chart.setOption({ title: { text: p.data.name } }); }
    });
    chart.on("click", function (p) {
      if (p.componentType !== "series" || !p.data) { return; }
      if (p.data.org) { window.location.href = "/dashboard/industry/org/" + p.data.id; return; }
      var geoModel = chart.getOption().geo[0];
      chart.setOption({ geo: { center: [p.data.value[0], p.data.value[1]], zoom: (geoModel.zoom || 1) * 3 } });
      cluster();
    });
    window.addEventListener("resize", function () { chart.resize(); cluster(); });
    document.body.setAttribute("data-map", "ready");
  }
})();
