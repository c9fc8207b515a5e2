// One ticket for the dispatcher: the caller's words, what was understood and why it went where it did, its case,
// its history; and what may be done now: complete a ticket marked for a person, dispatch to a union, the next
// state, an extension (延期), a merge. A lawyer sees their callback here: the number, each call back, the reply.
import {$, api, el, say, table, when} from "./console.js";

const NUMBER = window.HOTLINE.number;
const LABELS = window.HOTLINE.labels;
const ROLE = window.HOTLINE.user.role;
const DISPATCHER = ROLE !== "lawyer";  // lawyers have no dispatcher actions (nor their APIs)
const OPEN = ["accepted", "dispatched", "supervised"];
// The words for a code the page was sent (window.HOTLINE.labels); the ticket itself carries `*_label` fields.
const labelOf = (kind, key) => (key ? LABELS[kind]?.[key] ?? key : "—");
let unions = null;  // the directory, fetched once

// "← 老板拖欠工资、个月": the words that decided something, shown after it.
function because(words) {
  return words?.length ? el("small", {class: "evidence"}, ` ← ${words.join("、")}`) : "";
}

function facts(t) {
  const rows = [
    ["受理时间", when(t.created_at)],
    ["来电号码", el("span", {id: "caller-number", class: "phone"}, t.caller_number || "—")],
    ["回电号码", el("span", {class: "phone"}, t.callback_number || "—")],
    ["去向", el("span", {id: "route", dataset: {route: t.route || ""}}, t.route_label)],
    ["区县", el("span", {id: "district"}, t.district || "—")],
    ["承办工会", el("span", {id: "union-id", dataset: {union: t.union_id || ""}}, t.union_name || t.union_id || "—")],
    ["派单期限", when(t.dispatch_due_at)],
    ["办结期限", el("span", {id: "reply-due"}, when(t.reply_due_at))],
    ["延期次数", String(t.extensions ?? 0)],
  ];
  if (t.closed_at) rows.push(["归档时间", when(t.closed_at)]);
  if (t.recovered_amount !== null && t.recovered_amount !== undefined) rows.push(["挽回金额", `${t.recovered_amount} 元`]);
  if (t.satisfaction) rows.push(["满意度", t.satisfaction_label || t.satisfaction]);
  if (t.needs_human) rows.push(["需人工处理", t.needs_human_reason || "是"]);
  return el("table", {class: "facts"}, el("tbody", {}, rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v)))));
}

function understood(t) {
  const ev = t.evidence || {};
  const items = [
    el("li", {}, "事项：", el("strong", {id: "subject", dataset: {subject: t.subject || ""}}, t.subject_label),
       because(ev.subject?.words)),
    el("li", {}, `性质：${t.kind_label}`, because(ev.kind?.words)),
    el("li", {}, `类别：${t.handling_class_label}`, because(ev.handling_class?.words)),
  ];
  for (const [i, flag] of (t.urgency_flags || []).entries()) {
    items.push(el("li", {class: "flag", dataset: {flag}}, `紧急：${t.urgency_flag_labels[i]}`, because(ev[`flag:${flag}`]?.words)));
  }
  for (const [name, value] of Object.entries(t.entities || {})) {
    const shown = value && typeof value === "object" ? `${value.approximate ? "≈" : ""}${value.value}` : value;
    const words = value && typeof value === "object" ? [value.text] : ev[name]?.words;
    items.push(el("li", {dataset: {entity: name}}, `${t.entity_labels?.[name] ?? name}：${shown}`, because(words)));
  }
  return el("ul", {}, items);
}

function history(t) {
  return table(["时间", "经办人", "事项", "说明"],
    t.events.map((e) => [when(e.at), e.actor_label ?? e.actor, el("span", {dataset: {kind: e.kind}}, e.kind_label),
                         el("span", {class: "summary"}, e.note)]),
    "还没有办理记录");
}

async function related(t) {
  if (!t.case_id) return el("p", {class: "muted"}, "未关联案件");
  const kase = await api(`/api/cases/${t.case_id}`);
  const others = kase.tickets.filter((o) => o.number !== t.number);
  return el("div", {},
    el("p", {}, `案件 ${kase.id}`, kase.employer ? ` · 单位 ${kase.employer}` : "", kase.project ? ` · 项目 ${kase.project}` : ""),
    table(["工单号", "受理时间", "事项", "状态", "诉求"],
      others.map((o) => [el("a", {href: `/tickets/${encodeURIComponent(o.number)}`}, o.number), when(o.created_at),
                         o.subject_label, o.status_label, (o.summary || "").slice(0, 60)]),
      "案件中没有其他工单"));
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
    el("option", {value: "", selected: true, disabled: true}, "— 请选择工会 —"),
    suggested.length ? el("optgroup", {label: "来电人提到的地点", id: "suggested"}, suggested.map(option)) : null,
    [...groups].map(([district, list]) => el("optgroup", {label: district}, list.map(option))),
  ];
}

// The machine's doubts in words, with how sure it was.
function reviewReasons(t) {
  const reasons = (t.review_reason_labels || []).join("、") || "需人工确认";
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
    ? table(["时间", "经办人", "更正项", "原值", "新值"], t.corrections.map((c) =>
        [when(c.at), c.actor, LABELS.fields?.[c.field] ?? c.field, shownValue(c.field, c.old), shownValue(c.field, c.new)]))
    : el("p", {class: "muted"}, "没有人工更正"));
}

// A ticket marked for a person (an operator's call, a caller who hung up): the form to complete it.
function completion(t) {
  $("#complete-card").hidden = !t.needs_human;
  $("#complete-reason").textContent = t.needs_human ? `需人工处理：${t.needs_human_reason || ""}` : "";
  if (t.needs_human && !$("#complete-summary").value) $("#complete-summary").value = t.summary || t.transcript || "";
}

// A lawyer's callback: whom to call, each call back so far (from the ticket's events), and the two forms.
function callback(t) {
  const card = $("#callback-card");
  if (!card) return;
  card.hidden = t.route !== "lawyer_callback" || !OPEN.includes(t.status);
  $("#callback-to").textContent = t.callback_number || t.caller_number || "—";
  $("#callback-due").textContent = t.reply_due_at ? `答复期限 ${when(t.reply_due_at)}` : "";
  const attempts = t.events.filter((e) => e.kind === "callback_reached" || e.kind === "callback_not_reached");
  $("#callback-attempts").replaceChildren(attempts.length
    ? el("ol", {class: "attempts"}, attempts.map((a) => el("li", {class: a.kind === "callback_reached" ? "reached" : "not-reached"},
        `${when(a.at)} ${a.actor}：${a.note}`)))
    : el("p", {class: "muted"}, "还没有回电记录"));
  document.body.dataset.callbackAttempts = String(attempts.length);
}

// An admin acts for the seat the callback is assigned to (the seat API names it: ?lawyer_id=).
const seatQuery = (t) => (ROLE === "admin" && t?.assigned_to ? `?lawyer_id=${encodeURIComponent(t.assigned_to)}` : "");
let shown = null;  // the ticket as last loaded

async function load() {
  const t = await api(`/api/tickets/${encodeURIComponent(NUMBER)}`);
  $("#ticket-card").dataset.status = t.status;
  $("#state").textContent = t.status_label;
  $("#facts").replaceChildren(facts(t));
  $("#words").replaceChildren(el("p", {id: "transcript"}, t.transcript || t.summary || "（没有转写）"),
    t.transcript_status !== "transcribed" && t.transcript_status !== "none"
      ? el("p", {class: "muted", dataset: {transcriptStatus: t.transcript_status}}, `录音转写：${t.transcript_status_label}`) : "");
  $("#understood").replaceChildren(understood(t));
  const routed = t.events.filter((e) => e.kind === "routed");
  $("#routed").replaceChildren(routed.length
    ? el("ul", {}, routed.map((e) => el("li", {class: "routed"}, `${when(e.at)} · ${e.note}`)))
    : el("p", {class: "muted"}, "没有分派记录"));
  $("#history").replaceChildren(history(t));
  callback(t);
  if (!DISPATCHER) {
    $("#related").replaceChildren(el("p", {class: "muted"}, t.case_id ? `案件 ${t.case_id}` : "未关联案件"));
    document.body.dataset.loaded = t.status;
    return t;
  }
  completion(t);
  const options = await api(`/api/tickets/${encodeURIComponent(NUMBER)}/options`);
  unions ??= await api("/api/unions");
  corrections(t);
  $("#related").replaceChildren(await related(t));

  $("#dispatch-card").hidden = !options.can_dispatch;
  $("#named-places").textContent = options.named_places.length
    ? `来电人提到：${options.named_places.join("、")}` : "来电人没有说出地点";
  const chosen = $("#union").value;
  $("#union").replaceChildren(...unionChoices(options.named_unions).flat());
  if (chosen) $("#union").value = chosen;
  $("#transition-card").hidden = !options.next_states.length;
  $("#next-state").replaceChildren(...options.next_states.map((s) => el("option", {value: s.state}, s.label)));
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
    await reload();
    say(done);
  } catch (error) {
    say(readable(error.message), true);
  } finally {
    button.disabled = false;
  }
}

// The dispatcher's actions (a lawyer's page has none of these forms).
if (DISPATCHER) {
  $("#dispatch-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const union = $("#union").selectedOptions[0]?.textContent;
    act(event.target, "dispatch", {union_id: $("#union").value, note: $("#dispatch-note").value.trim()}, `已派单给 ${union}`);
  });
  $("#next-state").addEventListener("change", showRecovered);
  $("#transition-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const to = $("#next-state").value;
    const body = {to, note: $("#transition-note").value.trim()};
    if (to === "archived" && $("#recovered").value !== "") body.recovered_amount = Number($("#recovered").value);
    act(event.target, "transitions", body, `已流转为“${labelOf("states", to)}”`);
  });
  $("#extension-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(event.target, "extensions", {working_days: Number($("#extension-days").value), reason: $("#extension-reason").value.trim()},
        `已延期 ${$("#extension-days").value} 个工作日`);
  });
  $("#merge-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const into = $("#merge-into").value.trim();
    act(event.target, "merge", {into, note: $("#merge-note").value.trim()}, `已与 ${into} 合并`);
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
      await reload();
      say("已确认无误");
    } catch (error) {
      say(readable(error.message), true);
    } finally {
      $("#confirm-review").disabled = false;
    }
  });

  $("#complete-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const flags = [...document.querySelectorAll("#complete-flags input[name=flag]:checked")].map((b) => b.value);
    act(event.target, "completion", {summary: $("#complete-summary").value.trim(), subject: $("#complete-subject").value,
                                     kind: $("#complete-kind").value, urgency_flags: flags,
                                     note: $("#complete-note").value.trim()}, "已补全并分派");
  });
}

async function reload() {
  shown = await load();
}

async function seatAction(form, path, body, done) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await api(`/api/seat/callbacks/${encodeURIComponent(NUMBER)}/${path}${seatQuery(shown)}`, {method: "POST", body});
    form.reset();
    await reload();
    say(done);
  } catch (error) {
    say(readable(error.message), true);
  } finally {
    button.disabled = false;
  }
}

if ($("#callback-card")) {
  $("#attempt-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const reached = event.target.querySelector("input[name=reached]:checked").value === "yes";
    seatAction(event.target, "attempts", {reached, note: $("#attempt-note").value.trim()},
               reached ? "已记录：回电已接通" : "已记录：回电未接通，仍在待回电中");
  });
  $("#reply-form").addEventListener("submit", (event) => {
    event.preventDefault();
    seatAction(event.target, "reply", {text: $("#reply-text").value.trim()}, "已答复，回电结束");
  });
}

reload().catch((error) => say(error.message, true));
