// The inspector's list: the day's sampled calls, why each was picked, who handled it, where it stands.
import {$, api, el, percent, say, seconds, table, when, SAMPLE_STATES} from "./console.js";

// Who handled a call, as people read it: their name and role (话务员), the operators' shared desk, or the voice menu.
function handlerName(handler, roleLabel) {
  if (!handler) return "语音导航";
  const who = handler.startsWith("desk:") ? `话务台 ${handler.slice(5)}` : handler;
  return roleLabel ? `${who}（${roleLabel}）` : who;
}

async function show() {
  const day = $("#day").value, mine = $("#mine").checked;
  say("加载中…");
  try {
    const samples = await api(`/api/qa/samples?day=${encodeURIComponent(day)}&mine=${mine}`);
    $("#samples").replaceChildren(table(
      ["通话", "开始时间", "时长", "抽样原因", "经办人", "质检员", "状态", "得分"],
      samples.map((s) => [
        el("a", {href: `/qa/samples/${s.id}`, class: "sample-link", dataset: {callSid: s.call_sid}}, s.call_sid),
        when(s.started_at), seconds(s.duration_s),
        el("span", {class: "reason", title: s.reason_labels.join("、")}, s.reason_label),
        handlerName(s.handler, s.handler_role_label),
        s.inspector || "未分配", SAMPLE_STATES[s.status] || s.status, s.score ?? "—",
      ]), "这一天没有抽样"));
    say(`${day} 抽样 ${samples.length} 通`);
  } catch (error) {
    say(error.message, true);
  }
}

// Scores and rectification per person who handled calls: what the inspection reports to supervisors.
async function showPeople(day) {
  const start = new Date(Date.parse(day) - 29 * 86400_000).toISOString().slice(0, 10);
  const figures = await api(`/api/qa/people?start=${start}&end=${encodeURIComponent(day)}`);
  $("#people").replaceChildren(table(
    ["经办人", "角色", "质检通数", "平均分", "一票否决",
     "反馈", "已整改", "整改率"],
    figures.people.map((p) => [handlerName(p.handler), p.handler_role_label || "—", p.calls_inspected, p.average_score ?? "—",
                               p.critical_failures, p.feedback_given, p.rectified, percent(p.rectification_rate)]),
    `${figures.start} – ${figures.end} 没有质检记录`));
}

function refresh() {
  show();
  showPeople($("#day").value).catch((error) => say(error.message, true));
}

$("#filter").addEventListener("submit", (event) => { event.preventDefault(); refresh(); });
refresh();
