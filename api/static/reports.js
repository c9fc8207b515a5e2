// Daily, weekly and monthly reports in the browser: the JSON report as a table and charts, CSV and HTML links.
import {$, api, el, percent, say, when} from "./console.js";

const DEFINITIONS = JSON.parse($("#definitions").textContent);  // [key, label, definition] in report order
const RATES = new Set(["answer_rate", "closure_rate", "on_time_rate", "satisfaction", "one_call_resolution"]);
const CONFIG = {displayModeBar: false, responsive: true};

function shown(key, value) {
  if (value === null || value === undefined) return "—";
  if (RATES.has(key)) return percent(value);
  if (key === "avg_handling_days") return value.toFixed(2);
  if (key === "recovered_amount") return `¥${value.toLocaleString("zh-CN")}`;
  return String(value);
}

// Bars of a breakdown; the axis shows each code's label (the report's `labels`), never the code.
function bars(id, counts, labels, title) {
  const keys = Object.keys(counts || {});
  const values = keys.map((k) => counts[k]);
  Plotly.react(id, [{type: "bar", x: keys.map((k) => labels[k] ?? k), y: values, marker: {color: "#b42318"}}],
               {title: {text: title, font: {size: 13}}, height: 260, margin: {l: 40, r: 10, t: 30, b: 60},
                yaxis: {rangemode: "tozero", dtick: Math.max(...values, 0) <= 10 ? 1 : undefined}}, CONFIG);
}

async function show() {
  const kind = $("#kind").value, day = $("#date").value;
  const url = `/api/reports/${kind}?date=${encodeURIComponent(day)}`;
  say("加载中…");
  try {
    const report = await api(url);
    $("#report-title").replaceChildren(`${report.label} `, el("small", {}, `${report.from} – ${report.to}`));
    $("#figures").replaceChildren(el("table", {id: "report-table"}, el("tbody", {},
      DEFINITIONS.map(([key, label, definition]) => el("tr", {dataset: {key}},
        el("th", {title: definition}, label), el("td", {}, shown(key, report[key])))))));
    bars("chart-subject", report.by_subject, report.labels.subjects, "诉求类别");
    bars("chart-district", report.by_district, report.labels.districts, "区县");
    $("#downloads").replaceChildren(el("a", {href: `${url}&format=csv`, download: true}, "下载表格"), " · ",
                                    el("a", {href: `${url}&format=html`, target: "_blank"}, "打印版"));
    say(`生成于 ${when(report.as_of)}`);  // the hotline's local time, whatever the browser's
  } catch (error) {
    say(error.message, true);
  }
}

$("#pick").addEventListener("submit", (event) => { event.preventDefault(); show(); });
show();
