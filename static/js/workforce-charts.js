/* Draws the server-built plotly figures of the workforce pages: each .chart[data-chart] names
   the json_script element holding its spec. Uses the vendored static/js/plotly.min.js. */
(function () {
  function draw() {
    if (!window.Plotly) { return; }
    document.querySelectorAll(".chart[data-chart]").forEach(function (element) {
      var source = document.getElementById(element.dataset.chart);
      if (!source) { return; }
      var spec = JSON.parse(source.textContent);
      window.Plotly.newPlot(element, spec.data, spec.layout, { displaylogo: false, responsive: true });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
