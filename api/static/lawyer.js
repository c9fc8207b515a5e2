// The lawyer's seat: duty and sign-in, the live queue, taking the next caller, the caller's words as they
// come in, what was understood, their earlier tickets, notes, a ticket when there is none, callbacks due.
import {$, api, el, say, seconds, table, when} from "./console.js";

const QUEUE_EVERY_MS = 2000;
const CALLBACKS_EVERY_MS = 15000;
let seat = null;
let currentCall = null;

// A lawyer works their own seat; an admin (no seat of their own) picks one from the roster: ?lawyer_id=L01.
const USER = window.HOTLINE.user;
const PICKS_SEAT = USER.role !== "lawyer" && !USER.roster_id;
const CHOSEN = new URLSearchParams(location.search).get("lawyer_id") || "";
const SEAT_QUERY = CHOSEN ? `?lawyer_id=${encodeURIComponent(CHOSEN)}` : "";
const seatApi = (path) => `/api/seat/${path}${SEAT_QUERY}`;

async function seatPicker() {
  const roster = await api("/api/roster");
  const picker = $("#seat-picker");
  picker.hidden = false;
  $("#pick-seat").replaceChildren(el("option", {value: "", disabled: true, selected: !CHOSEN}, "请选择律师座席"),
    ...roster.lawyers.map((p) => el("option", {value: p.id, selected: p.id === CHOSEN}, `${p.name}（${p.id}）`)));
  $("#pick-seat").addEventListener("change", (event) => {
    location.search = `?lawyer_id=${encodeURIComponent(event.target.value)}`;
  });
  $("#acting-for").textContent = CHOSEN ? `您以管理员身份查看并操作 ${CHOSEN} 座席` : "管理员没有自己的座席：请先选择一位律师";
}

async function refreshSeat() {
  seat = await api(seatApi("state"));
  const onCall = seat.on_call_sid ? `通话中（${seat.on_call_sid}）` : (seat.signed_in ? "空闲" : "");
  $("#seat").replaceChildren(el("p", {}, `${seat.name}（${seat.lawyer_id}）· `,
    el("strong", {id: "duty", dataset: {onDuty: seat.on_duty}}, seat.on_duty ? "正在值班" : "现在不在值班时间"),
    ` · 值班时间 ${seat.hours.start}–${seat.hours.end}`),
    el("p", {}, el("strong", {id: "signed-in", dataset: {signedIn: seat.signed_in}},
                   seat.signed_in ? "已签入" : "未签入"), onCall ? ` · ${onCall}` : ""));
  const toggle = $("#seat-toggle");
  toggle.hidden = false;
  toggle.textContent = seat.signed_in ? "签出座席" : "签入座席";
  $("#take").disabled = !seat.signed_in || Boolean(seat.on_call_sid);
}

async function refreshQueue() {
  const queue = await api("/api/queue");
  $("#queue").replaceChildren(
    table(["排位", "来电", "已等待"],
          queue.waiting.map((w) => [w.position, w.call_sid, seconds(w.waited_s)]), "没有人排队"),
    el("p", {class: "muted"}, `已接听来电的平均等待：${seconds(queue.avg_wait_s)}`));
}

// What the machine understood, in the words the API sends next to each code (`*_label`).
function classification(ticket) {
  const c = ticket.classification;
  const entities = Object.entries(c.entities).map(([name, value]) => {
    const shown = typeof value === "object" && value !== null
      ? `${value.approximate ? "≈" : ""}${value.value ?? value.text ?? ""}` : value;
    const words = typeof value === "object" && value !== null && value.text ? [value.text] : c.evidence[name]?.words;
    return el("li", {dataset: {entity: name}}, `${c.entity_labels?.[name] ?? name}：${shown}`,
              words?.length ? el("small", {}, ` ← ${words.join("、")}`) : "");
  });
  return el("div", {class: "classification"},
    el("p", {}, `工单 ${ticket.number} · ${ticket.status_label} · 事项 `,
       el("strong", {dataset: {subject: c.subject || ""}}, c.subject_label),
       ` · ${c.kind_label} · ${c.handling_class_label}`,
       c.urgency_flags.length ? el("span", {class: "flag"}, ` 紧急：${c.urgency_flag_labels.join("、")}`) : ""),
    entities.length ? el("ul", {}, entities) : "");
}

function transcript(call) {
  const lines = call.transcripts.filter((t) => t.text).map((t) => el("p", {class: t.live ? "live" : ""},
    el("small", {}, t.live ? "实时 " : (t.source === "call" ? `通话录音（${t.channel === 0 ? "来电人" : "坐席"}） ` : "录音 ")), t.text));
  // While the caller speaks, the live recognizer's words arrive as call events before any transcript row.
  const partial = call.live_speech.at(-1);
  if (!lines.length && partial?.text) lines.push(el("p", {class: "live"}, el("small", {}, "实时… "), partial.text));
  return el("div", {id: "transcript"}, lines.length ? lines : el("p", {class: "muted"}, "（尚无转写）"));
}

async function refreshCaller() {
  const {call} = await api(seatApi("current"));
  currentCall = call;
  $("#ticket-form").hidden = !call || Boolean(call.ticket);
  $("#note-form").hidden = !call || !call.ticket;
  if (!call) { $("#caller").replaceChildren(el("p", {class: "muted"}, "没有来电")); return; }
  $("#caller").replaceChildren(
    el("p", {}, el("strong", {id: "caller-number", class: "phone"}, call.caller), ` · ${call.call_sid} · ${when(call.started_at)} · `,
       call.live ? el("span", {class: "live"}, "通话中") : `已结束于 ${when(call.ended_at)}`),
    transcript(call),
    call.ticket ? classification(call.ticket) : el("p", {class: "muted"}, "这通电话还没有工单"),
    el("h3", {}, "历史工单 ", el("small", {}, "这个号码以前的来电")),
    table(["工单号", "受理时间", "事项", "状态", "诉求"],
          call.history.map((t) => [t.number, when(t.created_at), t.subject_label, t.status_label,
                                   el("span", {class: "summary"}, t.summary)]),
          "没有历史工单"));
  $("#notes").replaceChildren(...call.notes.map((n) => el("p", {class: "note"}, el("small", {}, `${when(n.at)} ${n.actor}：`), n.text)));
}

// The list shows the start of what the caller said; the ticket has it all.
const short = (text) => (text && text.length > 80 ? `${text.slice(0, 80)}…` : text || "");

// Each call back so far: how many, and the last one (reached or not, its note).
function attemptsCell(t) {
  if (!t.attempts.length) return el("span", {class: "muted"}, "未回电");
  const last = t.attempts.at(-1);
  return el("span", {class: last.reached ? "reached" : "not-reached"},
    `${t.attempts.length}次；最近 ${when(last.at)} ${last.reached ? "已接通" : "未接通"}${last.note ? `：${last.note}` : ""}`);
}

async function refreshCallbacks() {
  const due = await api(seatApi("callbacks"));
  const list = table(["工单", "回电号码", "答复期限", "负责", "回电记录", "摘要"],
    due.map((t) => [el("a", {href: `/tickets/${encodeURIComponent(t.number)}`, class: "callback-link"}, t.number),
                    el("span", {class: "phone"}, t.callback_number || "—"), when(t.reply_due_at),
                    t.assigned_to || "未分配", attemptsCell(t), el("span", {class: "summary", title: t.summary || ""}, short(t.summary))]),
    "没有待回电");
  for (const [i, row] of [...list.querySelectorAll("tbody tr")].entries()) row.dataset.number = due[i].number;
  $("#callbacks").replaceChildren(list);
  document.body.dataset.callbacks = String(due.length);
}

async function guarded(job) {
  try { await job(); } catch (error) { say(error.message, true); }
}

$("#seat-toggle").addEventListener("click", () => guarded(async () => {
  await api(`/api/lawyers/${seat.lawyer_id}/${seat.signed_in ? "sign-out" : "sign-in"}`, {method: "POST"});
  say(seat.signed_in ? "已签出" : "已签入");
  await refreshSeat();
}));

$("#take").addEventListener("click", () => guarded(async () => {
  const taken = await api("/api/queue/take", {method: "POST", body: {lawyer_id: seat.lawyer_id}});
  say(`正在接入 ${taken.call_sid}（来电人等待了 ${seconds(taken.waited_s)}）`);
  await Promise.all([refreshSeat(), refreshQueue(), refreshCaller()]);
}));

$("#ticket-form").addEventListener("submit", (event) => guarded(async () => {
  event.preventDefault();
  const made = await api(seatApi("ticket"), {method: "POST", body: {call_sid: currentCall.call_sid,
                                                                     summary: $("#ticket-summary").value}});
  say(`工单 ${made.number} ${made.created ? "已建立" : "已存在"}`);
  $("#ticket-summary").value = "";
  await refreshCaller();
}));

$("#note-form").addEventListener("submit", (event) => guarded(async () => {
  event.preventDefault();
  await api(seatApi("notes"), {method: "POST", body: {call_sid: currentCall.call_sid, text: $("#note-text").value}});
  $("#note-text").value = "";
  say("记录已保存");
  await refreshCaller();
}));

async function tick() {
  await guarded(() => Promise.all([refreshSeat(), refreshQueue(), refreshCaller()]));
  setTimeout(tick, QUEUE_EVERY_MS);
}

if (PICKS_SEAT) guarded(seatPicker);
if (!PICKS_SEAT || CHOSEN) {
  tick();
  guarded(refreshCallbacks);
  setInterval(() => guarded(refreshCallbacks), CALLBACKS_EVERY_MS);
}
