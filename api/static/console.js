// What every console page's script shares: the JSON API with the session's CSRF token, small DOM helpers.

export async function api(path, {method = "GET", body} = {}) {
  const headers = {Accept: "application/json"};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = window.HOTLINE.csrf;
  const response = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                      credentials: "same-origin"});
  if (response.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); }
  const data = response.headers.get("content-type")?.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const detail = typeof data === "object" ? data.detail : data;
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return data;
}

// el("td", {class: "x", onclick: f}, "text", child): an element with attributes, listeners and children.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

// A message in the page's status line (role=status), red when it is an error.
export function say(text, isError = false) {
  const box = $("#status");
  if (!box) return;
  box.textContent = text;
  box.classList.toggle("error", isError);
}

export function seconds(s) {
  if (s === null || s === undefined) return "—";
  s = Math.round(s);
  return s >= 60 ? `${Math.floor(s / 60)}分${String(s % 60).padStart(2, "0")}秒` : `${s}秒`;
}

// A moment as the hotline reads it: in its own time zone (the page's window.HOTLINE.timezone, Asia/Shanghai by
// default), whatever the browser's.
export function when(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("zh-CN", {hour12: false, timeZone: window.HOTLINE?.timezone || "Asia/Shanghai"});
}

export function percent(x) {
  return x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)}%`;
}

// A table from rows of cells; `head` is a list of column labels.
export function table(head, rows, empty = "无") {
  if (!rows.length) return el("p", {class: "muted"}, empty);
  return el("table", {}, el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))),
            el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c))))));
}

export const SAMPLE_STATES = {open: "待质检", scored: "已评分", reviewed: "已复核", closed: "已关闭"};
export const FEEDBACK_STATES = {open: "待整改", answered: "已整改", closed: "已关闭"};
