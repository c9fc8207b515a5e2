// The lawyer's seat: duty and sign-in, the live queue, taking the next caller, the caller's words as they
// come in, what was understood, their earlier tickets, notes, a ticket when there is none, callbacks due.
import {$, api, el, say, seconds, table, when} from "./console.js";

const QUEUE_EVERY_MS = 2000;
const CALLBACKS_EVERY_MS = 15000;
let seat = null;
let currentCall = null;

async function refreshSeat() {
  seat = await api("/api/seat/state");
  const onCall = seat.on_call_sid ? `通话中 on a call (${seat.on_call_sid})` : (seat.signed_in ? "空闲 free" : "");
  $("#seat").replaceChildren(el("p", {}, `${seat.name} (${seat.lawyer_id}) · `,
    el("strong", {id: "duty"}, seat.on_duty ? "今日值班 on duty" : "不在值班时间 not on duty now"),
    ` · 值班时间 hours ${seat.hours.start}–${seat.hours.end}`),
    el("p", {}, el("strong", {id: "signed-in", dataset: {signedIn: seat.signed_in}},
                   seat.signed_in ? "已签入 signed in" : "未签入 signed out"), onCall ? ` · ${onCall}` : ""));
  const toggle = $("#seat-toggle");
  toggle.hidden = false;
  toggle.textContent = seat.signed_in ? "签出 Sign out of my seat" : "签入 Sign in to my seat";
  $("#take").disabled = !seat.signed_in || Boolean(seat.on_call_sid);
}

async function refreshQueue() {
  const queue = await api("/api/queue");
  $("#queue").replaceChildren(
    table(["位置 position", "来电 call", "已等待 waited"],
          queue.waiting.map((w) => [w.position, w.call_sid, seconds(w.waited_s)]), "没有人排队 nobody is waiting"),
    el("p", {class: "muted"}, `平均等待 average wait of answered callers: ${seconds(queue.avg_wait_s)}`));
}

function classification(ticket) {
  const c = ticket.classification;
  const entities = Object.entries(c.entities).map(([name, value]) => {
    const shown = typeof value === "object" && value !== null ? (value.value ?? JSON.stringify(value)) : value;
    const words = c.evidence[name]?.words;
    return el("li", {}, `${name}: ${shown}`, words?.length ? el("small", {}, ` ← ${words.join("、")}`) : "");
  });
  return el("div", {class: "classification"},
    el("p", {}, `工单 ${ticket.number} · ${ticket.status} · 类别 subject `, el("strong", {}, c.subject),
       ` · ${c.kind === "consult" ? "咨询 consultation" : c.kind === "help" ? "求助 help" : c.kind || "—"}`,
       ` · ${c.handling_class}`, c.urgency_flags.length ? el("span", {class: "flag"}, ` 紧急 ${c.urgency_flags.join(" ")}`) : ""),
    entities.length ? el("ul", {}, entities) : "");
}

function transcript(call) {
  const lines = call.transcripts.filter((t) => t.text).map((t) => el("p", {class: t.live ? "live" : ""},
    el("small", {}, t.live ? "实时 live " : (t.source === "call" ? `录音 ch${t.channel} ` : "录音 recording ")), t.text));
  // While the caller speaks, the live recognizer's words arrive as call events before any transcript row.
  const partial = call.live_speech.at(-1);
  if (!lines.length && partial?.text) lines.push(el("p", {class: "live"}, el("small", {}, "实时 live… "), partial.text));
  return el("div", {id: "transcript"}, lines.length ? lines : el("p", {class: "muted"}, "（尚无转写 no words yet）"));
}

async function refreshCaller() {
  const {call} = await api("/api/seat/current");
  currentCall = call;
  $("#ticket-form").hidden = !call || Boolean(call.ticket);
  $("#note-form").hidden = !call || !call.ticket;
  if (!call) { $("#caller").replaceChildren(el("p", {class: "muted"}, "没有来电 no caller")); return; }
  $("#caller").replaceChildren(
    el("p", {}, el("strong", {id: "caller-number"}, call.caller), ` · ${call.call_sid} · ${when(call.started_at)} · `,
       call.live ? el("span", {class: "live"}, "通话中 live") : `已结束 ended ${when(call.ended_at)}`),
    transcript(call),
    call.ticket ? classification(call.ticket) : el("p", {class: "muted"}, "这通电话还没有工单 no ticket yet"),
    el("h3", {}, "历史工单 ", el("small", {}, "earlier tickets from this number")),
    table(["工单 ticket", "日期 date", "类别 subject", "状态 status", "摘要 summary"],
          call.history.map((t) => [t.number, when(t.created_at), t.subject, t.status, t.summary]), "没有 none"));
  $("#notes").replaceChildren(...call.notes.map((n) => el("p", {class: "note"}, el("small", {}, `${when(n.at)} ${n.actor}: `), n.text)));
}

async function refreshCallbacks() {
  const due = await api("/api/seat/callbacks");
  $("#callbacks").replaceChildren(table(["工单 ticket", "回电号码 number", "期限 due", "负责 assigned", "摘要 summary"],
    due.map((t) => [t.number, t.callback_number, when(t.reply_due_at), t.assigned_to || "未分配 anyone", t.summary]),
    "没有待回电 none due"));
}

async function guarded(job) {
  try { await job(); } catch (error) { say(error.message, true); }
}

$("#seat-toggle").addEventListener("click", () => guarded(async () => {
  await api(`/api/lawyers/${seat.lawyer_id}/${seat.signed_in ? "sign-out" : "sign-in"}`, {method: "POST"});
  say(seat.signed_in ? "已签出 signed out" : "已签入 signed in");
  await refreshSeat();
}));

$("#take").addEventListener("click", () => guarded(async () => {
  const taken = await api("/api/queue/take", {method: "POST", body: {lawyer_id: seat.lawyer_id}});
  say(`已接入 connecting ${taken.call_sid} (等待了 waited ${seconds(taken.waited_s)})`);
  await Promise.all([refreshSeat(), refreshQueue(), refreshCaller()]);
}));

$("#ticket-form").addEventListener("submit", (event) => guarded(async () => {
  event.preventDefault();
  const made = await api("/api/seat/ticket", {method: "POST", body: {call_sid: currentCall.call_sid,
                                                                     summary: $("#ticket-summary").value}});
  say(`工单 ${made.number} ${made.created ? "已建立 made" : "已存在 exists"}`);
  $("#ticket-summary").value = "";
  await refreshCaller();
}));

$("#note-form").addEventListener("submit", (event) => guarded(async () => {
  event.preventDefault();
  await api("/api/seat/notes", {method: "POST", body: {call_sid: currentCall.call_sid, text: $("#note-text").value}});
  $("#note-text").value = "";
  say("记录已保存 note saved");
  await refreshCaller();
}));

async function tick() {
  await guarded(() => Promise.all([refreshSeat(), refreshQueue(), refreshCaller()]));
  setTimeout(tick, QUEUE_EVERY_MS);
}

tick();
guarded(refreshCallbacks);
setInterval(() => guarded(refreshCallbacks), CALLBACKS_EVERY_MS);
