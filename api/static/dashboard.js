// The supervisors' live dashboard: /api/dashboard drawn as plotly charts, refreshed every REFRESH_MS.
import {$, api, el, say, table, when} from "./console.js";
import {startAlerts} from "./alerts.js";

const REFRESH_MS = 12000;
const CONFIG = {displayModeBar: false, responsive: true};
const LAYOUT = {margin: {l: 50, r: 10, t: 10, b: 60}, height: 260, font: {size: 12}};
// The words for the codes the figures carry (the taxonomy's subjects and classes, ticket states), from the page.
const LABELS = window.HOTLINE.labels;
const subjectLabel = (code) => (code && code !== "null" ? LABELS.subjects[code] ?? code : "未分类");
const classLabel = (code) => (code && code !== "null" ? LABELS.classes[code] ?? code : "未分类");
const stateLabel = (code) => LABELS.states[code] ?? code;
const districtLabel = (name) => (!name || name === "unknown" ? "区县不明" : name);

function bars(id, counts, color, label) {
  const keys = Object.keys(counts);
  const values = keys.map((k) => counts[k]);
  // Counts are whole tickets: no 0.5 ticks when the numbers are small.
  const yaxis = {rangemode: "tozero", dtick: Math.max(...values, 0) <= 10 ? 1 : undefined};
  Plotly.react(id, [{type: "bar", x: keys.map(label), y: values, marker: {color}}], {...LAYOUT, yaxis}, CONFIG);
}

function drawNow(d) {
  const calls = d.calls_today, queue = d.queue, lawyers = d.lawyers;
  const domain = (i) => ({x: [i / 4 + 0.02, (i + 1) / 4 - 0.02], y: [0, 1]});
  Plotly.react("chart-now", [
    {type: "indicator", mode: "number", value: calls.calls_total, title: {text: "今日来电"}, domain: domain(0)},
    {type: "indicator", mode: "gauge+number", value: calls.answer_rate === null ? 0 : calls.answer_rate * 100,
     number: {suffix: "%", valueformat: ".1f"}, gauge: {axis: {range: [0, 100]}},
     title: {text: `接通率（${calls.calls_answered}/${calls.calls_total}）`}, domain: domain(1)},
    {type: "indicator", mode: "number", value: queue.waiting,
     title: {text: `排队（最久 ${queue.longest_wait_s} 秒）`}, domain: domain(2)},
    {type: "indicator", mode: "number", value: lawyers.on_duty,
     title: {text: `值班律师（签入 ${lawyers.signed_in}，空闲 ${lawyers.free}）`}, domain: domain(3)},
  ], {...LAYOUT, height: 200, margin: {l: 10, r: 10, t: 40, b: 10}}, CONFIG);
}

function drawLawyers(lawyers) {
  const names = lawyers.lawyers.map((p) => `${p.name} ${p.id}`);
  const state = (p) => (p.on_call ? "通话中" : p.free ? "空闲" : "未签入");
  const kinds = ["空闲", "通话中", "未签入"];
  const colors = {"空闲": "#2f855a", "通话中": "#b42318", "未签入": "#9aa5b1"};
  Plotly.react("chart-lawyers", kinds.map((kind) => ({
    type: "bar", name: kind, x: names, marker: {color: colors[kind]},
    y: lawyers.lawyers.map((p) => (state(p) === kind ? 1 : 0)),
  })), {...LAYOUT, barmode: "stack", yaxis: {visible: false}, showlegend: true, legend: {orientation: "h"}}, CONFIG);
}

function drawSatisfaction(trend) {
  Plotly.react("chart-satisfaction", [
    {type: "scatter", mode: "lines+markers", name: "满意率", x: trend.map((t) => t.day),
     y: trend.map((t) => (t.satisfaction === null ? null : t.satisfaction * 100)), connectgaps: true},
    {type: "bar", name: "回访数", x: trend.map((t) => t.day), y: trend.map((t) => t.answered), yaxis: "y2",
     opacity: 0.3},
  ], {...LAYOUT, margin: {...LAYOUT.margin, r: 40}, yaxis: {range: [0, 100], ticksuffix: "%"}, legend: {orientation: "h"},
      // Plotly names months in English (Nov 26): the days as people here write them.
      xaxis: {tickformat: "%-m月%-d日", hoverformat: "%Y年%-m月%-d日"},
      yaxis2: {overlaying: "y", side: "right", rangemode: "tozero", showgrid: false}}, CONFIG);
}

function drawHotSpots(spots) {
  const districts = Object.keys(spots.subject_by_district).sort();
  const subjects = [...new Set(districts.flatMap((d) => Object.keys(spots.subject_by_district[d])))].sort();
  Plotly.react("chart-hotspots", [{
    type: "heatmap", x: districts.map(districtLabel), y: subjects.map(subjectLabel), colorscale: "Reds", hoverongaps: false,
    z: subjects.map((s) => districts.map((d) => spots.subject_by_district[d][s] ?? 0)),
  }], {...LAYOUT, margin: {l: 110, r: 10, t: 10, b: 60}}, CONFIG);
}

function deadlineRows(list) {
  return list.map((t) => [t.number, subjectLabel(t.subject), classLabel(t.handling_class), stateLabel(t.status),
                          t.district || "—", when(t.reply_due_at),
                          `${t.hours_left} 小时`]);
}

// How often people corrected the classifier: corrected tickets per subject (stacked) by local week, and the share.
function drawCorrections(report) {
  const weeks = report.weeks.map((w) => w.first_day);
  const subjects = [...new Set(report.rows.filter((r) => r.corrected).map((r) => r.subject))];
  const traces = subjects.map((subject) => ({
    type: "bar", name: report.subjects[subject] ?? subject, x: weeks,
    y: weeks.map((day) => report.rows.find((r) => r.first_day === day && r.subject === subject)?.corrected ?? 0),
  }));
  traces.push({type: "scatter", mode: "lines+markers", name: "更正率", x: weeks, yaxis: "y2",
               y: report.weeks.map((w) => (w.rate === null ? null : w.rate * 100))});
  Plotly.react("chart-corrections", traces, {...LAYOUT, barmode: "stack", legend: {orientation: "h"},
    xaxis: {title: {text: "周（周一起）"}, type: "category"}, yaxis: {rangemode: "tozero", title: {text: "更正工单数"}},
    yaxis2: {overlaying: "y", side: "right", range: [0, 100], ticksuffix: "%", showgrid: false},
    margin: {...LAYOUT.margin, r: 50}}, CONFIG);
  const rows = report.rows.filter((r) => r.corrected).map((r) => [r.first_day, r.subject_label, r.tickets, r.corrected,
    r.subject_corrected, r.kind_corrected, r.urgency_flags_corrected, `${(r.rate * 100).toFixed(1)}%`]);
  $("#corrections-table").replaceChildren(table(
    ["周（周一）", "事项", "工单", "人工更正", "更正事项", "更正性质", "更正紧急标记", "更正率"], rows, "最近没有人工更正"));
}

// The background jobs (/api/jobs): coloured counts, the counts by kind, the workers' heartbeats, the failed jobs.
const JOB_COUNTS = {queued: "排队中", running: "运行中", waiting: "等待资源", failed: "失败", done_24h: "24 小时内完成"};

function workerRow(w, mode) {
  const name = mode === "procrastinate" ? `工作进程 ${w.id}` : "本服务进程（内嵌）";
  const beat = w.seconds_since === null ? "—" : `最后心跳 ${Math.round(w.seconds_since)} 秒前（${when(w.last_heartbeat)}）`;
  const state = w.alive === false ? "失联" : "正常";
  return el("tr", {class: w.alive === false ? "worker silent" : "worker"},
    el("td", {}, name), el("td", {}, beat), el("td", {}, `正在运行 ${w.running} 个`), el("td", {}, state));
}

function drawJobs(d) {
  $("#jobs-mode").textContent = d.mode_label;
  $("#jobs-totals").replaceChildren(...Object.entries(JOB_COUNTS).map(([key, name]) =>
    el("span", {class: key === "failed" && !d.totals.failed ? "failed none" : key}, `${name} ${d.totals[key]}`)));
  const head = (names) => el("thead", {}, el("tr", {}, names.map((h) => el("th", {}, h))));
  const kindRow = (k) => el("tr", {}, el("td", {}, k.label), Object.keys(JOB_COUNTS).map((key) =>
    el("td", {class: key === "failed" && k.failed ? "failed-count" : null}, String(k[key]))));
  $("#jobs-kinds").replaceChildren(
    el("table", {}, head(["任务类型", ...Object.values(JOB_COUNTS)]), el("tbody", {}, d.kinds.map(kindRow))));
  $("#jobs-workers").replaceChildren(d.workers.length
    ? el("table", {}, el("tbody", {}, d.workers.map((w) => workerRow(w, d.mode))))
    : el("p", {class: "error"}, "没有在运行的工作进程：排队的任务无人处理"));
  $("#jobs-failed-count").textContent = `(${d.totals.failed})`;
  // The error itself is the handler's technical message: a tooltip for the administrator, not the page's words.
  const failedRow = (j) => el("tr", {class: "failed-job", title: j.error || ""},
    el("td", {}, String(j.id)), el("td", {}, j.label), el("td", {}, j.subject || "—"),
    el("td", {}, String(j.attempts)), el("td", {}, when(j.failed_at)));
  $("#jobs-failed").replaceChildren(d.failed.length
    ? el("table", {}, head(["编号", "任务类型", "对象", "尝试次数", "失败时间"]), el("tbody", {}, d.failed.map(failedRow)))
    : el("p", {class: "muted"}, "没有失败的任务"));
  document.body.dataset.jobsRefreshed = d.as_of;
}

async function refresh() {
  try {
    const d = await api("/api/dashboard");
    drawNow(d);
    bars("chart-subject", d.tickets.by_subject, "#b42318", subjectLabel);
    bars("chart-class", d.tickets.by_class, "#c05621", classLabel);
    bars("chart-state", d.tickets.by_state, "#2b6cb0", stateLabel);
    drawSatisfaction(d.satisfaction_trend);
    drawLawyers(d.lawyers);
    drawHotSpots(d.hot_spots);
    const head = ["工单", "诉求类别", "办理类别", "状态", "区县", "期限", "剩余"];
    $("#near-count").textContent = `(${d.deadlines.near_deadline_count})`;
    $("#overdue-count").textContent = `(${d.deadlines.overdue_count})`;
    $("#near").replaceChildren(table(head, deadlineRows(d.deadlines.near_deadline)));
    $("#overdue").replaceChildren(table(head, deadlineRows(d.deadlines.overdue)));
    $("#employers").replaceChildren(table(["用人单位", "工单数", "来电人数"],
      d.hot_spots.repeated_employers.map((e) => [e.employer, e.tickets, e.callers])));
    drawCorrections(await api("/api/reports/corrections?weeks=8"));
    drawJobs(await api("/api/jobs"));
    say(`更新于 ${when(d.as_of)}`);
    document.body.dataset.refreshed = d.as_of;
  } catch (error) {
    say(error.message, true);
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
startAlerts();
