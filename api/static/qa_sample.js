// One sampled call: play it while the transcript follows along, read the ticket, score it, send feedback.
import {$, api, el, say, seconds, table, when, FEEDBACK_STATES, SAMPLE_STATES} from "./console.js";

const sampleId = $("#sample").dataset.sampleId;
const CHANNELS = {0: "来电人", 1: "坐席"};
const RECORDING_STATES = {pending: "等待下载", stored: "待转写", waiting_model: "等待语音模型", transcribed: "已转写",
                          failed: "录音或转写失败"};
let view = null;
let activeAudio = null;      // comments are pinned to the time of the recording last played
const comments = [];
let itemLabels = {};         // rubric item id → its label: people read labels, the API keeps ids

// Who handled the call: a person, the operators' shared desk, or nobody (the voice menu).
function handlerName(handler) {
  if (!handler) return "语音导航";
  return handler.startsWith("desk:") ? `话务台 ${handler.slice(5)}` : handler;
}

// --- the recording and its time-aligned transcript -------------------------------------------------

function wordSpan(word, audio) {
  return el("span", {class: "word", dataset: {start: word.start, end: word.end}, title: `${word.start.toFixed(2)} 秒`,
                     onclick: () => { audio.currentTime = word.start; audio.play(); }}, word.word);
}

function follow(audio, box) {
  // Highlight the word being said; earlier words are marked as spoken.
  const words = [...box.querySelectorAll(".word")];
  const update = () => {
    const t = audio.currentTime;
    for (const w of words) {
      const start = Number(w.dataset.start), end = Number(w.dataset.end);
      w.classList.toggle("current", t >= start && t < end);
      w.classList.toggle("spoken", t >= end);
    }
    if (audio === activeAudio) $("#comment-at").textContent = t.toFixed(1);
  };
  audio.addEventListener("timeupdate", update);
  audio.addEventListener("seeked", update);
  audio.addEventListener("play", () => { activeAudio = audio; update(); });
}

function showRecordings(recordings) {
  const blocks = recordings.map((rec) => {
    const label = rec.source === "call" ? "全程录音" : "来电人陈述";
    if (rec.status === "failed" || !rec.duration_s && rec.status !== "transcribed") {
      // A failed recording never stored failed to download; a stored one failed in transcription.
      const state = rec.status !== "failed" ? RECORDING_STATES[rec.status] || rec.status
        : rec.stored ? "转写失败" : "录音下载失败";
      return el("div", {class: "recording"}, el("h3", {}, label), el("p", {class: "muted"}, state));
    }
    const audio = el("audio", {controls: true, preload: "auto", src: rec.audio_url,
                               dataset: {source: rec.source, recordingSid: rec.recording_sid}});
    const lines = rec.transcripts.map((t) => el("div", {class: "channel", dataset: {channel: t.channel ?? 0}},
      el("h4", {}, rec.channels === 2 ? CHANNELS[t.channel] : CHANNELS[0]),
      t.words.length ? el("p", {class: "words"}, t.words.map((w) => [wordSpan(w, audio), " "]))
                     : el("p", {class: "words"}, t.text || el("span", {class: "muted"}, "（无语音）"))));
    const box = el("div", {class: "recording", dataset: {source: rec.source}},
                   el("h3", {}, label, el("small", {}, ` ${rec.recording_sid} · ${seconds(rec.duration_s)}`)),
                   audio, lines.length ? lines : el("p", {class: "muted"}, `转写：${RECORDING_STATES[rec.status] || rec.status}`));
    follow(audio, box);
    activeAudio ??= audio;
    return box;
  });
  // The whole call first: it has both channels.
  blocks.sort((a, b) => (b.dataset.source === "call") - (a.dataset.source === "call"));
  $("#recordings").replaceChildren(...(blocks.length ? blocks : [el("p", {class: "muted"}, "没有录音")]));
}

function showCall(v) {
  const c = v.call;
  $("#call").replaceChildren(
    el("h1", {}, `质检 ${c.call_sid}`),
    el("p", {}, `来电 ${c.caller || "—"} · ${when(c.started_at)} · ${seconds(c.duration_s)} · `,
       `经办人 ${handlerName(c.handler)}${c.handler_role_label ? `（${c.handler_role_label}）` : ""}`),
    el("p", {}, `抽样原因：${v.reason_labels.join("、")} · 质检员：${v.inspector || "—"} · `,
       el("span", {id: "sample-status"}, SAMPLE_STATES[v.status] || v.status)));
}

function showTicket(t) {
  if (!t) { $("#ticket").replaceChildren(el("p", {class: "muted"}, "这通电话没有工单")); return; }
  $("#ticket").replaceChildren(
    el("p", {}, el("strong", {}, t.number),
       ` · ${t.subject_label || t.subject || "未分类"} · ${t.handling_class_label || t.handling_class || "—"}`,
       t.urgency_flags.length ? el("span", {class: "flag"}, ` 紧急 ${t.urgency_flag_labels.join("、")}`) : ""),
    el("p", {}, t.summary || el("span", {class: "muted"}, "（无摘要）")));
}

// --- scoring ---------------------------------------------------------------------------------------

function seek(at) {
  if (activeAudio) { activeAudio.currentTime = at; activeAudio.play(); }
}

function commentList(list) {
  return el("ul", {class: "comments"}, list.map((c) => el("li", {},
    el("a", {href: "#", onclick: (e) => { e.preventDefault(); seek(c.at_s); }}, `${c.at_s.toFixed(1)} 秒`),
    ` ${CHANNELS[c.channel]}: ${c.text}`)));
}

// The failed critical items by their labels (一票否决项).
function criticalLabels(ids) {
  return ids.map((id) => itemLabels[id] || id).join("、");
}

function showScores(scores) {
  const stageLabel = {inspection: "质检", review: "复核", calibration: "校准"};
  $("#scores").replaceChildren(...scores.map((s) => el("div", {class: "score", dataset: {stage: s.stage}},
    el("p", {}, el("strong", {class: "total"}, `${s.total} 分`), ` ${stageLabel[s.stage] || s.stage} · ${s.inspector} · ${when(s.created_at)}`,
       s.critical_failed.length ? el("span", {class: "flag critical-failed"}, ` 一票否决：${criticalLabels(s.critical_failed)}`) : ""),
    s.comments.length ? commentList(s.comments) : "")));
}

function showRubric(rubric) {
  itemLabels = Object.fromEntries(rubric.sections.flatMap((s) => s.items.map((i) => [i.id, i.label])));
  // Every item starts empty: the inspector gives each one its points (an untouched form is not full marks).
  const inputs = rubric.sections.map((section) => el("fieldset", {},
    el("legend", {}, section.label),
    section.items.map((item) => el("label", {class: "item" + (item.critical ? " critical" : "")},
      el("span", {}, item.label, item.critical ? el("strong", {class: "flag", title: "一票否决项：此项不合格则整通不合格"}, " ★一票否决") : "",
         el("small", {}, ` (0–${item.max})`)),
      el("input", {type: "number", min: 0, max: item.max, step: "0.5", required: true, inputmode: "decimal",
                   placeholder: `0–${item.max}`, name: item.id, dataset: {item: item.id, max: item.max},
                   oninput: sumPoints})))));
  $("#rubric").replaceChildren(el("p", {class: "muted"}, `${rubric.name} · 满分 ${rubric.total} · 合格 ${rubric.pass_score}`),
                               ...inputs);
  sumPoints();
}

// What is wrong with one entry (empty, not a number, outside 0..max), or null when it is fine.
function entryProblem(input) {
  const text = input.value.trim(), max = Number(input.dataset.max), label = itemLabels[input.dataset.item];
  if (text === "") return `「${label}」未评分`;
  const value = Number(text);
  if (!Number.isFinite(value) || input.validity.badInput) return `「${label}」须填数字`;
  if (value < 0 || value > max) return `「${label}」的分数须在 0 到 ${max} 之间（填的是 ${text}）`;
  return null;
}

function rubricInputs() {
  return [...document.querySelectorAll("#rubric input")];
}

function points() {
  return Object.fromEntries(rubricInputs().map((i) => [i.dataset.item, Number(i.value)]));
}

function sumPoints() {
  // Only entries within their range count; a wrong one is marked at once instead of inflating the sum.
  const inputs = rubricInputs();
  let sum = 0, filled = 0;
  for (const input of inputs) {
    const problem = input.value.trim() === "" ? null : entryProblem(input);
    input.classList.toggle("invalid", problem !== null);
    input.setAttribute("aria-invalid", problem !== null);
    input.title = problem || "";
    if (input.value.trim() !== "" && problem === null) { sum += Number(input.value); filled += 1; }
  }
  $("#points-sum").textContent = `${Math.round(sum * 100) / 100}`;
  $("#points-filled").textContent = `${filled}/${inputs.length}`;
}

$("#add-comment").addEventListener("click", () => {
  const text = $("#comment-text").value.trim();
  if (!text) { say("评语为空", true); return; }
  comments.push({at_s: Math.round((activeAudio ? activeAudio.currentTime : 0) * 10) / 10,
                 channel: Number($("#comment-channel").value), text});
  $("#comment-text").value = "";
  $("#comments").replaceChildren(...commentList(comments).children);
});

$("#score-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const problems = rubricInputs().map((input) => [input, entryProblem(input)]).filter(([, p]) => p);
  if (problems.length) {  // nothing is sent until every item has points within its range
    const shown = problems.slice(0, 3).map(([, p]) => p).join("；");
    $("#score-result").textContent = `未提交：请为每一项评分，还有 ${problems.length} 项需要填写或改正 — ${shown}` +
      (problems.length > 3 ? " …" : "");
    $("#score-result").classList.add("error");
    problems.forEach(([input]) => input.classList.add("invalid"));
    problems[0][0].focus();
    return;
  }
  const stage = $("#stage").value;
  const body = {items: points(), comments};
  try {
    const score = stage === "review"
      ? await api(`/api/qa/samples/${sampleId}/review`, {method: "POST", body})
      : await api(`/api/qa/samples/${sampleId}/scores`, {method: "POST", body: {...body, stage}});
    $("#score-result").textContent = `已提交：${score.total} 分` +
      (score.critical_failed.length ? `（一票否决：${criticalLabels(score.critical_failed)}）` : "");
    $("#score-result").classList.remove("error");
    comments.length = 0;
    $("#comments").replaceChildren();
    await load(false);
  } catch (error) {
    $("#score-result").textContent = error.message;
    $("#score-result").classList.add("error");
  }
});

async function showCalibration(scores) {
  if (!scores.some((s) => s.stage === "calibration")) { $("#calibration").replaceChildren(); return; }
  const c = await api(`/api/qa/samples/${sampleId}/calibration`);
  const spread = (s) => s ? `${s.min}–${s.max} (σ ${s.stdev.toFixed(1)}, n=${s.n})` : "—";
  $("#calibration").replaceChildren(el("h3", {}, "校准"),
    table(["质检员", "得分"], c.inspectors.map((i) => [i.inspector, i.total])),
    table(["评分项", "离散"], Object.entries(c.items).filter(([, s]) => s.max > s.min)
      .map(([item, s]) => [itemLabels[item] || item, spread(s)]), "各项一致"),
    el("p", {}, `总分离散：${spread(c.total)}`));
}

// --- feedback --------------------------------------------------------------------------------------

function showFeedback(list) {
  $("#feedback").replaceChildren(...list.map((f) => el("div", {class: "feedback", dataset: {id: f.id, status: f.status}},
    el("p", {}, el("strong", {class: "state"}, FEEDBACK_STATES[f.status] || f.status),
       ` · ${f.created_by} → ${f.handler} · ${when(f.created_at)}`),
    el("p", {class: "message"}, f.message),
    f.rectification ? el("p", {class: "rectification"}, `整改：${f.rectification}`) : "",
    f.status === "answered" ? el("button", {type: "button", class: "close-feedback", onclick: async () => {
      try { await api(`/api/qa/feedback/${f.id}/close`, {method: "POST"}); await load(false); }
      catch (error) { say(error.message, true); }
    }}, "确认并关闭") : "")));
}

$("#feedback-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api(`/api/qa/samples/${sampleId}/feedback`, {method: "POST", body: {message: $("#feedback-message").value}});
    $("#feedback-message").value = "";
    say("反馈已发送");
    await load(false);
  } catch (error) {
    say(error.message, true);
  }
});

async function load(full = true) {
  try {
    view = await api(`/api/qa/samples/${sampleId}`);
  } catch (error) {
    say(error.message, true);
    return;
  }
  showCall(view);
  if (full) {  // keep the audio playing and the form as typed when only the scores or feedback changed
    showRecordings(view.recordings);
    showTicket(view.ticket);
    showRubric(view.rubric);
  }
  showScores(view.scores);
  showFeedback(view.feedback);
  showCalibration(view.scores).catch((error) => say(error.message, true));
}

load();
