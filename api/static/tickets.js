// The dispatcher's list: the queue of tickets no rule could place, deadlines near and past, every ticket by state.
import {$, api, el, say, table, when} from "./console.js";
import {startAlerts} from "./alerts.js";

// Each ticket carries the words for its codes (`*_label`, from the taxonomy and the closed loop).
const flagsOf = (t) => (t.urgency_flag_labels || []).join(" ");
const ticketLink = (number) => el("a", {href: `/tickets/${encodeURIComponent(number)}`, class: "ticket-link"}, number);

const REFRESH_MS = 15000;
const LIMIT = 100;  // every ticket listed is an audit-log entry: a page, not the archive
// What each tab asks GET /api/tickets for; "all" adds the chosen state and the search words.
const TABS = {
  queue: {route: "dispatcher", status: "accepted"},
  review: {needs_review: "true"},  // the classifier was unsure: a person confirms or corrects
  near: {deadline: "near"},
  overdue: {deadline: "overdue"},
  all: {},
};
let tab = TABS[location.hash.slice(1)] ? location.hash.slice(1) : "queue";

function query(name) {
  const params = new URLSearchParams({limit: LIMIT, ...TABS[name]});
  if (name === "all") {
    if ($("#state").value) params.set("status", $("#state").value);
    if ($("#q").value.trim()) params.set("q", $("#q").value.trim());
  }
  return `/api/tickets?${params}`;
}

// Why the machine wants a person to look: its doubts in words, and how sure it was of the subject.
function review(t) {
  if (!t.needs_review) return "";
  const reasons = (t.review_reason_labels || []).join("、") || "需人工确认";
  const sure = t.confidence?.subject;
  return `${reasons}${sure === null || sure === undefined ? "" : `（把握 ${Math.round(sure * 100)}%）`}`;
}

function row(t) {
  const late = t.reply_due_at && new Date(t.reply_due_at) < new Date() && !["replied", "callback", "archived"].includes(t.status);
  return el("tr", {dataset: {number: t.number, status: t.status}, class: t.needs_review ? "review" : null},
    el("td", {}, ticketLink(t.number)),
    el("td", {}, when(t.created_at)),
    el("td", {dataset: {subject: t.subject || ""}}, t.subject_label),
    el("td", {}, t.handling_class_label),
    el("td", {class: "flag"}, flagsOf(t)),
    el("td", {class: "district"}, t.district || "—"),
    el("td", {class: "summary", title: t.summary || ""}, (t.summary || "").slice(0, 60) || "—"),
    el("td", {class: late ? "flag" : ""}, when(t.reply_due_at)),
    el("td", {class: "state"}, t.status_label),
    el("td", {class: "review"}, review(t)));
}

async function show() {
  for (const button of document.querySelectorAll("#tabs [data-tab]")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === tab));
  }
  $("#filter").hidden = tab !== "all";
  try {
    const response = await fetch(query(tab), {credentials: "same-origin", headers: {Accept: "application/json"}});
    if (response.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); return; }
    const tickets = await response.json();
    if (!response.ok) throw new Error(typeof tickets.detail === "string" ? tickets.detail : JSON.stringify(tickets.detail));
    const total = Number(response.headers.get("X-Total-Count") ?? tickets.length);
    const head = ["工单号", "受理时间", "事项", "类别", "紧急标记", "区县", "诉求", "办结期限", "状态", "待确认原因"];
    $("#tickets").replaceChildren(tickets.length
      ? el("table", {id: "ticket-table"}, el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))),
           el("tbody", {}, tickets.map(row)))
      : table(head, [], "这里没有工单"));
    // Only the open tab is counted: listing tickets writes each into the audit log, so no background lists.
    for (const badge of document.querySelectorAll("[data-count]")) {
      badge.textContent = badge.dataset.count === tab ? `(${total})` : "";
    }
    say(total > tickets.length ? `共 ${total} 张，显示最新的 ${tickets.length} 张` : `共 ${total} 张`);
    $("#refreshed").textContent = `上次刷新 ${when(new Date().toISOString())}`;
    document.body.dataset.refreshed = String(Date.now());
  } catch (error) {
    say(error.message, true);
  }
}

$("#tabs").addEventListener("click", (event) => {
  const button = event.target.closest("[data-tab]");
  if (!button) return;
  tab = button.dataset.tab;
  history.replaceState(null, "", `#${tab}`);
  show();
});
$("#filter").addEventListener("submit", (event) => { event.preventDefault(); show(); });
show();
setInterval(show, REFRESH_MS);
startAlerts();

// An operator's seat: "take calls" puts callers who ask for a person through to their own phone (staff/seats.py).
const SEAT_REFRESH_MS = 5000;
let seat = null;

async function refreshSeat() {
  try {
    seat = await api("/api/operators/me");
  } catch (error) {
    $("#seat-status").textContent = error.message;
    return;
  }
  const state = !seat.signed_in ? "未接听"
    : seat.on_call_sid ? `通话中（${seat.on_call_sid}）` : `接听中 · 空闲（${seat.phone}）`;
  $("#seat-state").replaceChildren("接听状态：", el("span", {dataset: {signedIn: seat.signed_in}}, state));
  const toggle = $("#seat-toggle");
  toggle.hidden = false;
  toggle.textContent = seat.signed_in ? "停止接听" : "开始接听";
}

if ($("#operator-seat")) {
  $("#seat-toggle").addEventListener("click", async () => {
    const toggle = $("#seat-toggle");
    toggle.disabled = true;
    try {
      await api(`/api/operators/me/${seat.signed_in ? "sign-out" : "sign-in"}`, {method: "POST"});
      $("#seat-status").textContent = "";
    } catch (error) {
      $("#seat-status").textContent = error.message;
    } finally {
      toggle.disabled = false;
    }
    await refreshSeat();
  });
  refreshSeat();
  setInterval(refreshSeat, SEAT_REFRESH_MS);
}
