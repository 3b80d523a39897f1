// Draws the dashboard's charts from the figures the server rendered (the same ones as in the tables).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var L = JSON.parse(document.getElementById("chart-labels").textContent);
  if (typeof Chart === "undefined") { return; }
  Chart.defaults.font.size = 12;
  Chart.defaults.animation = false;
  var blue = "#2563eb", teal = "#0d9488", amber = "#d97706", rose = "#e11d48";
  new Chart(document.getElementById("funnel-chart"), {
    type: "bar",
    data: { labels: L.steps, datasets: [{ label: L.count, data: data.funnel.map(function (r) { return r.count; }),
      backgroundColor: data.funnel.map(function (_, i) { return i < 3 ? teal : blue; }) }] },
    options: { indexAxis: "y", maintainAspectRatio: false, plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
  });
  new Chart(document.getElementById("durations-chart"), {
    type: "bar",
    data: { labels: L.stages, datasets: [
      { label: L.median, data: data.durations.map(function (r) { return r.median_days; }), backgroundColor: blue },
      { label: L.p90, data: data.durations.map(function (r) { return r.p90_days; }), backgroundColor: amber }] },
    options: { maintainAspectRatio: false, scales: { y: { beginAtZero: true } } }
  });
  var months = data.months.map(function (r) { return r.key; });
  function series(step) { return data.months.map(function (r) { return r.counts[step]; }); }
  new Chart(document.getElementById("trend-chart"), {
    type: "line",
    data: { labels: months, datasets: [
      { label: L.filed, data: series("filed"), borderColor: teal, backgroundColor: teal },
      { label: L.interested, data: series("interested"), borderColor: blue, backgroundColor: blue },
      { label: L.intent_signed, data: series("intent_signed"), borderColor: amber, backgroundColor: amber },
      { label: L.clinical_use, data: series("clinical_use"), borderColor: rose, backgroundColor: rose }] },
    options: { maintainAspectRatio: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
  });
  document.body.setAttribute("data-charts", "ready");
})();
