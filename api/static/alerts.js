// Urgent alerts on the consoles (/dashboard, /tickets): polled every few seconds, flashing and sounding a short
// tone (Web Audio, no sound file) until someone acknowledges; who acknowledged, and when, shows for everyone.
import {$, api, el, when} from "./console.js";

const POLL_MS = 5000;
const KINDS = ["urgent", "emergency"];  // the kinds that sound (routing/alerts.py SOUNDING)
const SHOW_ACKNOWLEDGED_MINUTES = 60;   // acknowledged alerts stay listed this long, with who took them

let audio = null;
function beep() {
  try {
    audio ??= new (window.AudioContext || window.webkitAudioContext)();
    if (audio.state === "suspended") audio.resume();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.type = "square";
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.12, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.45);
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.45);
    document.body.dataset.alertBeeps = String(Number(document.body.dataset.alertBeeps || 0) + 1);
  } catch {
    // No audio device (or blocked until the page is clicked): the flashing banner still shows it.
  }
}

function item(a, refresh) {
  const open = !a.acknowledged_at;
  const ticket = a.ticket_number
    ? el("a", {href: `/tickets/${encodeURIComponent(a.ticket_number)}`, class: "ticket-link"}, a.ticket_number) : "";
  const action = open
    ? el("button", {type: "button", class: "acknowledge", onclick: async (event) => {
        event.target.disabled = true;
        try {
          await api(`/api/alerts/${a.id}/acknowledge`, {method: "POST"});
        } catch (error) {
          $("#alerts-status").textContent = error.message;
        }
        await refresh();
      }}, "确认收到")
    : el("span", {class: "acknowledged-by"}, `已由 ${a.acknowledged_by} 于 ${when(a.acknowledged_at)} 确认`);
  return el("li", {class: `alert ${open ? "open" : "acknowledged"}`, dataset: {alertId: a.id, kind: a.kind, ticket: a.ticket_number || ""}},
    el("strong", {}, a.kind_label), " ", el("span", {class: "at"}, when(a.at)), " · ", ticket, " ",
    el("span", {class: "text"}, a.text), " ", action);
}

export function startAlerts() {
  const box = $("#alerts");
  if (!box) return;
  async function refresh() {
    const params = new URLSearchParams({acknowledged_within_minutes: SHOW_ACKNOWLEDGED_MINUTES});
    for (const kind of KINDS) params.append("kind", kind);
    let alerts;
    try {
      alerts = await api(`/api/alerts?${params}`);
    } catch (error) {
      $("#alerts-status").textContent = error.message;
      return;
    }
    $("#alerts-status").textContent = "";
    const sounding = alerts.filter((a) => a.sounding);
    box.replaceChildren(alerts.length
      ? el("ul", {id: "alert-list"}, alerts.map((a) => item(a, refresh)))
      : el("p", {class: "muted"}, "没有紧急提醒"));
    $("#alerts-card").classList.toggle("sounding", sounding.length > 0);
    $("#alerts-count").textContent = sounding.length ? `（${sounding.length} 条待确认）` : "";
    document.body.dataset.alertSounding = sounding.length ? "yes" : "no";
    if (sounding.length) beep();
    document.body.dataset.alertsRefreshed = String(Date.now());
  }
  refresh();
  setInterval(refresh, POLL_MS);
}
