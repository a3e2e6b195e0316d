/* Draws the server-built plotly figures of every page with charts (assurance and workforce): each
   .chart[data-chart] names the json_script element that holds its spec. Served from our own
   static files with the vendored plotly.min.js. */
(function () {
  function draw() {
    if (!window.Plotly) { return; }
    document.querySelectorAll(".chart[data-chart]").forEach(function (element) {
      var source = document.getElementById(element.dataset.chart);
      if (!source) { return; }
      var spec = JSON.parse(source.textContent);
      window.Plotly.newPlot(element, spec.data, spec.layout, {
        displaylogo: false, responsive: true, modeBarButtonsToRemove: ["sendDataToCloud"]
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll(".chart[data-chart]").forEach(function (element) {
      if (window.Plotly && element.data) { window.Plotly.Plots.resize(element); }
    });
  });
})();
