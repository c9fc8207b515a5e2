// The handler's side of quality inspection: the inspector's feedback, and my rectification (整改) in answer.
import {$, api, el, say, when, FEEDBACK_STATES} from "./console.js";

const CHANNELS = {0: "来电人", 1: "坐席"};

function item(f) {
  const text = el("textarea", {rows: 3, maxlength: 4000, required: true, placeholder: "整改措施"},
                  f.rectification || "");
  const form = el("form", {class: "rectify", onsubmit: async (event) => {
    event.preventDefault();
    try {
      await api(`/api/qa/feedback/${f.id}/rectification`, {method: "POST", body: {text: text.value}});
      say("整改已提交");
      await load();
    } catch (error) {
      say(error.message, true);
    }
  }}, text, el("button", {type: "submit"}, f.status === "open" ? "提交整改" : "修改整改"));
  const score = f.score;
  return el("article", {class: "card feedback", dataset: {id: f.id, status: f.status}},
    el("h2", {}, `${f.call_sid} `, el("small", {}, `${f.day} · ${when(f.created_at)} · 质检员 ${f.created_by}`)),
    el("p", {}, el("strong", {class: "state"}, FEEDBACK_STATES[f.status] || f.status),
       score ? ` · 得分 ${score.total}` : "",
       score && score.critical_failed.length ? el("span", {class: "flag"}, ` 一票否决：${score.critical_failed_labels.join("、")}`) : ""),
    el("p", {class: "message"}, f.message),
    score && score.comments.length ? el("ul", {class: "comments"}, score.comments.map((c) =>
      el("li", {}, `${c.at_s.toFixed(1)}秒 ${CHANNELS[c.channel] ?? ""}：${c.text}`))) : "",
    f.rectification ? el("p", {class: "rectification"}, `我的整改（${when(f.rectified_at)}）：${f.rectification}`) : "",
    f.status === "closed" ? el("p", {class: "muted"}, `已由 ${f.closed_by} 于 ${when(f.closed_at)} 关闭`) : form);
}

async function load() {
  const status = $("#open-only").checked ? "&status=open" : "";
  try {
    const list = await api(`/api/qa/feedback?mine=true${status}`);
    $("#feedback").replaceChildren(...(list.length ? list.map(item)
                                                   : [el("p", {class: "muted"}, "没有质检反馈")]));
    const open = list.filter((f) => f.status === "open").length;
    if (!$("#status").classList.contains("error")) say(`${open} 条待整改`);
  } catch (error) {
    say(error.message, true);
  }
}

$("#open-only").addEventListener("change", load);
load();
