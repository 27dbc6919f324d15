// The page's language in the two JavaScript libraries that write words of their own (issue 20):
// Plotly (the chart button's tooltip, month and weekday names on date axes) and the date picker's
// calendar (weekday names, through date-fns). Chinese is registered here; English is the libraries'
// own. window.ipdashLocale(lang) is called by address.write whenever the language control is set.
(function () {
  var weekdays = ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"];
  var plotlyZh = {
    moduleType: "locale",
    name: "zh-CN",
    dictionary: {
      "Download plot as a PNG": "下载图表（PNG 图片）",
      "Download plot as a png": "下载图表（PNG 图片）",
      "Download plot": "下载图表",
      "Taking snapshot - this may take a few seconds": "正在生成图片，请稍候",
      "Snapshot succeeded": "图片已生成",
      "Sorry, there was a problem downloading your snapshot!": "抱歉，图片下载失败",
      "Double-click to zoom back out": "双击恢复原始大小",
      "Double-click on legend to isolate one trace": "双击图例只显示这一组",
      "Click to enter Plot title": "点击输入图表标题",
      "Click to enter X axis title": "点击输入横轴标题",
      "Click to enter Y axis title": "点击输入纵轴标题",
      "Reset axes": "恢复坐标轴",
      "Autoscale": "自动缩放",
      "Zoom": "缩放",
      "Zoom in": "放大",
      "Zoom out": "缩小",
      "Pan": "平移"
    },
    format: {
      days: weekdays,
      shortDays: ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
      months: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"],
      shortMonths: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"],
      date: "%Y-%m-%d"
    }
  };
  if (typeof window.Plotly === "undefined") {
    window.PlotlyLocales = window.PlotlyLocales || [];
    window.PlotlyLocales.push(plotlyZh); // plotly.js registers these when it loads
  } else {
    window.Plotly.register(plotlyZh);
  }

  // A date-fns locale with what the calendar formats: weekday and month names and numeric dates.
  var dateFnsZh = {
    code: "zh-CN",
    localize: {
      ordinalNumber: function (n) { return String(n); },
      era: function (n) { return ["公元前", "公元"][n]; },
      quarter: function (q) { return "第" + q + "季度"; },
      month: function (m) { return (m + 1) + "月"; },
      day: function (d, options) {
        var width = options && options.width;
        return width === "short" || width === "narrow" ? "日一二三四五六".charAt(d) : weekdays[d];
      },
      dayPeriod: function (p) { return p === "am" ? "上午" : p === "pm" ? "下午" : p; }
    },
    formatLong: {
      date: function () { return "yyyy-MM-dd"; },
      time: function () { return "HH:mm:ss"; },
      dateTime: function () { return "{{date}} {{time}}"; }
    },
    options: { weekStartsOn: 1, firstWeekContainsDate: 4 }
  };
  // Dash's date picker takes its locale from window.dateFns.locale when its calendar opens; with
  // none it writes English.
  window.ipdashLocale = function (lang) {
    window.dateFns = { locale: lang === "en" ? {} : { zhCN: dateFnsZh } };
  };
  var fromAddress = new URLSearchParams(window.location.search).get("lang");
  window.ipdashLocale(fromAddress === "en" ? "en" : "zh");
})();
