// A polite status line under the tabs, for what happened after a navigation (a tip stored, a file saved).

let timer = null;

export function notify(text, kind = "ok") {
  const el = document.getElementById("notice");
  el.textContent = text;
  el.className = `notice ${kind}`;
  el.hidden = false;
  clearTimeout(timer);
  timer = setTimeout(() => { el.hidden = true; }, 8000);
}
