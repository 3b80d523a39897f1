// The chain graph of one track: organisations as nodes (coloured by kind, chain leaders larger and starred), confirmed
// declared links solid, links from partnerships dashed. A click on a node opens the organisation's card.
(function () {
  "use strict";
  var g = JSON.parse(document.getElementById("chain-data").textContent);
  var L = JSON.parse(document.getElementById("chain-labels").textContent);
  var el = document.getElementById("chain");
  if (typeof echarts === "undefined") { return; }
  var en = L.lang === "en";
  var KINDS = Object.keys(L.kinds);
  var COLOURS = { hospital: "#e11d48", enterprise: "#2563eb", lab: "#7c3aed", platform: "#0d9488" };
  var chart = echarts.init(el, null, { renderer: "canvas" });
  var nodes = g.nodes.map(function (n) {
    var name = (en && n.name_en) || n.name;
    return { id: String(n.id), name: (n.leader ? "★ " : "") + name, category: Math.max(0, KINDS.indexOf(n.kind)),
      symbolSize: n.leader ? 34 : 20, org: n.id };
  });
  var links = g.links.map(function (e) {
    return { source: String(e.source), target: String(e.target), value: L.links[e.kind] || e.kind,
      lineStyle: { type: e.origin === "partnership" ? "dashed" : "solid", width: e.origin === "partnership" ? 1.5 : 2.5 } };
  });
  chart.setOption({
    animation: false,
    tooltip: { show: false },  // ECharts' HTML tooltip writes style attributes the CSP refuses
    legend: { data: KINDS.map(function (k) { return L.kinds[k]; }), top: 4 },
    series: [{ type: "graph", layout: "force", roam: true, draggable: true, data: nodes, links: links,
      categories: KINDS.map(function (k) { return { name: L.kinds[k], itemStyle: { color: COLOURS[k] || "#6b7280" } }; }),
      force: { repulsion: 700, edgeLength: [140, 240], gravity: 0.05 }, zoom: 1.2,
      label: { show: true, position: "right", fontSize: 11 },
      edgeSymbol: ["none", "arrow"], edgeSymbolSize: 8,
      edgeLabel: { show: true, fontSize: 10, formatter: function (p) { return p.data.value; } },
      lineStyle: { color: "#64748b", curveness: 0.1 } }]
  });
  chart.on("click", function (p) {
    if (p.dataType === "node" && p.data.org) { window.location.href = "/dashboard/industry/org/" + p.data.org; }
  });
  window.addEventListener("resize", function () { chart.resize(); });
  el.setAttribute("data-nodes", String(nodes.length));
  el.setAttribute("data-links", String(links.length));
  document.body.setAttribute("data-chain", "ready");
})();
