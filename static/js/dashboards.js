// Draws the dashboards' plotly figures (built on the server) and follows chart clicks.
(function () {
  "use strict";
  const zh = (document.documentElement.lang || "").toLowerCase().startsWith("zh");
  if (zh && window.Plotly) {
    // plotly.js ships no Chinese locale in the Python package: the strings people see.
    window.Plotly.register({
      moduleType: "locale",
      name: "zh-CN",
      dictionary: {
        "Download plot as a png": "下载为 PNG 图片",
        "Download plot as a PNG": "下载为 PNG 图片",  // plotly.js 4 spells it so
        "Zoom": "缩放", "Pan": "平移", "Reset axes": "重置坐标轴", "Autoscale": "自动缩放",
        "Zoom in": "放大", "Zoom out": "缩小", "Box Select": "框选", "Lasso Select": "套索选择",
        "Show closest data on hover": "悬停显示最近数据", "Compare data on hover": "悬停比较数据",
        "Double-click to zoom back out": "双击恢复缩放",
      },
      format: {
        days: ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"],
        shortDays: ["日", "一", "二", "三", "四", "五", "六"],
        months: ["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月"],
        shortMonths: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"],
        date: "%Y-%m-%d",
      },
    });
  }

  function draw(element) {
    const source = document.getElementById(element.dataset.figure);
    if (!source || !window.Plotly) return;
    const figure = JSON.parse(source.textContent);
    const config = {
      responsive: true,
      displaylogo: false,
      // Nothing beyond our own origin (the Content-Security-Policy allows nothing else): no MathJax
      // typesetting, and no map traces, whose topojson plotly would fetch from its CDN.
      typesetMath: false,
      locale: zh ? "zh-CN" : "en",
      modeBarButtonsToRemove: ["select2d", "lasso2d"],
      toImageButtonOptions: { format: "png", filename: element.dataset.filename || element.id, scale: 2 },
    };
    window.Plotly.newPlot(element, figure.data, figure.layout, config).then(() => {
      element.dataset.rendered = "true";
    });
    element.on("plotly_click", (event) => {
      const point = event.points && event.points[0];
      const target = point && point.customdata;
      if (typeof target === "string" && target.startsWith("/")) window.location.assign(target);
    });
  }

  function filters() {
    document.querySelectorAll("form[data-autosubmit]").forEach((form) => {
      const preset = form.querySelector("[data-preset]");
      const custom = form.querySelector(".custom-range");
      const sync = () => {
        const on = preset && preset.value === "custom";
        if (custom) {
          custom.hidden = !on;
          custom.querySelectorAll("input").forEach((input) => { input.disabled = !on; });
        }
      };
      sync();
      form.querySelectorAll("select").forEach((select) => {
        select.addEventListener("change", () => {
          sync();
          if (!(preset && preset.value === "custom" && select === preset)) form.requestSubmit();
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    filters();
    document.querySelectorAll("[data-figure]").forEach(draw);
  });
})();
