// One ticket for the dispatcher: the caller's words, what was understood and why it went where it did, its case,
// its history; and what may be done now: dispatch to a union, the next state, an extension (延期), a merge.
import {$, api, el, say, table, when} from "./console.js";

const NUMBER = window.HOTLINE.number;
const LABELS = window.HOTLINE.labels;
const labelOf = (kind, key) => (key ? `${LABELS[kind]?.[key] ?? key} ${key}` : "—");
const KINDS = {consult: "咨询 consultation", help: "求助 help"};
const ENTITY_LABELS = {amount: "金额 amount", workers: "人数 workers", employer: "单位 employer", project: "项目 project",
                       city: "城市 city", district: "区县 district", township: "乡镇街道 township",
                       unpaid: "欠薪时长 months unpaid"};
const EVENT_LABELS = {...LABELS.states, routed: "分派", merged: "合并", extended: "延期", reminded: "临期提醒",
                      escalated: "超期督办", dispatch_late: "派单超时", note: "记录", corrected: "人工更正",
                      review_confirmed: "人工确认", alert_acknowledged: "确认提醒", urgent: "紧急"};
let unions = null;  // the directory, fetched once

// "← 老板拖欠工资、个月": the words that decided something, shown after it.
function because(words) {
  return words?.length ? el("small", {class: "evidence"}, ` ← ${words.join("、")}`) : "";
}

function facts(t) {
  const rows = [
    ["受理 created", when(t.created_at)],
    ["来电号码 caller", el("span", {id: "caller-number"}, t.caller_number || "—")],
    ["回电号码 callback", t.callback_number || "—"],
    ["去向 route", t.route || "—"],
    ["区县 district", el("span", {id: "district"}, t.district || "—")],
    ["承办 union", el("span", {id: "union-id"}, t.union_id || "—")],
    ["派单期限 dispatch due", when(t.dispatch_due_at)],
    ["办结期限 reply due", el("span", {id: "reply-due"}, when(t.reply_due_at))],
    ["延期次数 extensions", String(t.extensions ?? 0)],
  ];
  if (t.closed_at) rows.push(["归档 archived", when(t.closed_at)]);
  if (t.recovered_amount !== null && t.recovered_amount !== undefined) rows.push(["挽回金额 recovered", `${t.recovered_amount} 元`]);
  if (t.satisfaction) rows.push(["满意度 satisfaction", t.satisfaction]);
  if (t.needs_human) rows.push(["需人工 needs a person", t.needs_human_reason || "是 yes"]);
  return el("table", {class: "facts"}, el("tbody", {}, rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v)))));
}

function understood(t) {
  const ev = t.evidence || {};
  const items = [
    el("li", {}, "事项 subject: ", el("strong", {id: "subject"}, labelOf("subjects", t.subject)), because(ev.subject?.words)),
    el("li", {}, `性质 kind: ${KINDS[t.kind] || t.kind || "—"}`, because(ev.kind?.words)),
    el("li", {}, `类别 class: ${labelOf("classes", t.handling_class)}`, because(ev.handling_class?.words)),
  ];
  for (const flag of t.urgency_flags || []) {
    items.push(el("li", {class: "flag"}, `紧急 ${LABELS.flags[flag] ?? flag} ${flag}`, because(ev[`flag:${flag}`]?.words)));
  }
  for (const [name, value] of Object.entries(t.entities || {})) {
    const shown = value && typeof value === "object" ? `${value.approximate ? "≈" : ""}${value.value}` : value;
    const words = value && typeof value === "object" ? [value.text] : ev[name]?.words;
    items.push(el("li", {dataset: {entity: name}}, `${ENTITY_LABELS[name] || name}: ${shown}`, because(words)));
  }
  return el("ul", {}, items);
}

function history(t) {
  return table(["时间 at", "经办 actor", "事项 what", "说明 note"],
    t.events.map((e) => [when(e.at), e.actor, EVENT_LABELS[e.kind] ? `${EVENT_LABELS[e.kind]} ${e.kind}` : e.kind, e.note]),
    "没有记录 nothing yet");
}

async function related(t) {
  if (!t.case_id) return el("p", {class: "muted"}, "未关联案件 not part of a case");
  const kase = await api(`/api/cases/${t.case_id}`);
  const others = kase.tickets.filter((o) => o.number !== t.number);
  return el("div", {},
    el("p", {}, `案件 case ${kase.id}`, kase.employer ? ` · 单位 ${kase.employer}` : "", kase.project ? ` · 项目 ${kase.project}` : ""),
    table(["工单号 number", "受理 created", "事项 subject", "状态 status", "诉求 summary"],
      others.map((o) => [el("a", {href: `/tickets/${encodeURIComponent(o.number)}`}, o.number), when(o.created_at),
                         labelOf("subjects", o.subject), labelOf("states", o.status), (o.summary || "").slice(0, 60)]),
      "案件中没有其他工单 no other ticket in the case"));
}

// The union <select>: the places the caller named first, then the whole directory by district.
function unionChoices(named) {
  const option = (u) => el("option", {value: u.id}, `${u.contact}（${u.district}${u.township || ""}）`);
  const groups = new Map();
  for (const u of unions.unions.filter((u) => !named.includes(u.id))) {
    if (!groups.has(u.district)) groups.set(u.district, []);
    groups.get(u.district).push(u);
  }
  const suggested = named.map((id) => unions.unions.find((u) => u.id === id)).filter(Boolean);
  return [
    el("option", {value: "", selected: true, disabled: true}, "— 请选择 choose a union —"),
    suggested.length ? el("optgroup", {label: "来电人提到的地点 places the caller named", id: "suggested"}, suggested.map(option)) : null,
    [...groups].map(([district, list]) => el("optgroup", {label: district}, list.map(option))),
  ];
}

// The machine's doubts in words, with how sure it was.
function reviewReasons(t) {
  const reasons = (t.review_reasons || []).map((c) => LABELS.doubts?.[c] ?? c).join("、") || "需人工确认";
  const sure = ["subject", "kind"].filter((k) => typeof t.confidence?.[k] === "number")
    .map((k) => `${k === "subject" ? "事项" : "性质"}把握 ${Math.round(t.confidence[k] * 100)}%`);
  return sure.length ? `${reasons}（${sure.join("，")}）` : reasons;
}

const shownValue = (field, value) => {
  if (field === "subject") return LABELS.subjects[value] ?? value ?? "无";
  if (field === "kind") return LABELS.kinds[value] ?? value ?? "无";
  return (value || []).map((f) => LABELS.flags[f] ?? f).join("、") || "无";
};

function corrections(t) {
  $("#review-card").hidden = !t.needs_review;
  $("#review-reasons").textContent = t.needs_review ? reviewReasons(t) : "";
  // The form starts from the ticket as it stands now.
  $("#correct-subject").value = t.subject;
  $("#correct-kind").value = t.kind || "help";
  for (const box of document.querySelectorAll("#correct-flags input[name=flag]")) {
    box.checked = (t.urgency_flags || []).includes(box.value);
  }
  $("#corrections").replaceChildren(t.corrections?.length
    ? table(["时间 at", "经办 who", "更正 field", "原值 was", "新值 now"], t.corrections.map((c) =>
        [when(c.at), c.actor, LABELS.fields?.[c.field] ?? c.field, shownValue(c.field, c.old), shownValue(c.field, c.new)]))
    : el("p", {class: "muted"}, "没有人工更正"));
}

async function load() {
  const [t, options] = await Promise.all([api(`/api/tickets/${encodeURIComponent(NUMBER)}`),
                                          api(`/api/tickets/${encodeURIComponent(NUMBER)}/options`)]);
  unions ??= await api("/api/unions");
  $("#ticket-card").dataset.status = t.status;
  $("#state").textContent = labelOf("states", t.status);
  $("#facts").replaceChildren(facts(t));
  $("#words").replaceChildren(el("p", {id: "transcript"}, t.transcript || t.summary || "（没有转写 no words）"),
    t.transcript_status !== "transcribed" && t.transcript_status !== "none"
      ? el("p", {class: "muted"}, `转写 transcription: ${t.transcript_status}`) : "");
  $("#understood").replaceChildren(understood(t));
  corrections(t);
  const routed = t.events.filter((e) => e.kind === "routed");
  $("#routed").replaceChildren(routed.length
    ? el("ul", {}, routed.map((e) => el("li", {class: "routed"}, `${when(e.at)} · ${e.note}`)))
    : el("p", {class: "muted"}, "没有分派记录 no routing recorded"));
  $("#history").replaceChildren(history(t));
  $("#related").replaceChildren(await related(t));

  $("#dispatch-card").hidden = !options.can_dispatch;
  $("#named-places").textContent = options.named_places.length
    ? `来电人提到 the caller named: ${options.named_places.join("、")}` : "来电人没有说出地点 no place named";
  const chosen = $("#union").value;
  $("#union").replaceChildren(...unionChoices(options.named_unions).flat());
  if (chosen) $("#union").value = chosen;
  $("#transition-card").hidden = !options.next_states.length;
  $("#next-state").replaceChildren(...options.next_states.map((s) => el("option", {value: s.state}, `${s.label} ${s.state}`)));
  showRecovered();
  $("#extension-card").hidden = !options.can_extend;
  document.body.dataset.loaded = t.status;
  return t;
}

function showRecovered() {
  $("#recovered-label").hidden = $("#next-state").value !== "archived";
}

// A 422 from request validation carries a list of {loc, msg}: say it as "reason: at least 2 characters".
function readable(message) {
  try {
    const problems = JSON.parse(message);
    if (Array.isArray(problems)) return problems.map((p) => `${(p.loc || []).at(-1) ?? ""}: ${p.msg}`).join("; ");
  } catch { /* already a sentence */ }
  return message;
}

// Submit one action; the API's refusal (409, 422) is shown in the status line, the page reloaded on success.
async function act(form, path, body, done) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await api(`/api/tickets/${encodeURIComponent(NUMBER)}/${path}`, {method: "POST", body});
    form.reset();
    await load();
    say(done);
  } catch (error) {
    say(readable(error.message), true);
  } finally {
    button.disabled = false;
  }
}

$("#dispatch-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const union = $("#union").selectedOptions[0]?.textContent;
  act(event.target, "dispatch", {union_id: $("#union").value, note: $("#dispatch-note").value.trim()}, `已派单 dispatched to ${union}`);
});
$("#next-state").addEventListener("change", showRecovered);
$("#transition-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const to = $("#next-state").value;
  const body = {to, note: $("#transition-note").value.trim()};
  if (to === "archived" && $("#recovered").value !== "") body.recovered_amount = Number($("#recovered").value);
  act(event.target, "transitions", body, `已流转 now ${labelOf("states", to)}`);
});
$("#extension-form").addEventListener("submit", (event) => {
  event.preventDefault();
  act(event.target, "extensions", {working_days: Number($("#extension-days").value), reason: $("#extension-reason").value.trim()},
      `已延期 extended by ${$("#extension-days").value} working days`);
});
$("#merge-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const into = $("#merge-into").value.trim();
  act(event.target, "merge", {into, note: $("#merge-note").value.trim()}, `已合并 merged with ${into}`);
});

$("#correction-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const flags = [...document.querySelectorAll("#correct-flags input[name=flag]:checked")].map((b) => b.value);
  act(event.target, "corrections", {subject: $("#correct-subject").value, kind: $("#correct-kind").value,
                                    urgency_flags: flags, note: $("#correction-note").value.trim()}, "已更正");
});
$("#confirm-review").addEventListener("click", async () => {
  $("#confirm-review").disabled = true;
  try {
    await api(`/api/tickets/${encodeURIComponent(NUMBER)}/review-confirmation`, {method: "POST", body: {}});
    await load();
    say("已确认无误");
  } catch (error) {
    say(readable(error.message), true);
  } finally {
    $("#confirm-review").disabled = false;
  }
});

load().catch((error) => say(error.message, true));
