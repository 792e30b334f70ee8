// The demo page: sends the passage and question to POST /answer and shows what comes back.
// Every piece of text goes into the page through textContent, never as HTML: passages can
// hold <, & and quotes.
"use strict";

const $ = (id) => document.getElementById(id);

/** An element with a class and text (as text, never parsed as HTML). */
function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The passage with [start, end) marked with the given class. */
function markedPassage(context, start, end, className) {
  const box = $("passage");
  box.replaceChildren();
  if (start < 0 || end <= start || end > context.length) {
    box.textContent = context;
    return;
  }
  box.append(context.slice(0, start));
  box.append(element("mark", className, context.slice(start, end)));
  box.append(context.slice(end));
}

/** Show the API's own message; the page keeps no result of an earlier question. */
function showError(message) {
  $("result").hidden = true;
  $("error").textContent = message;
  $("error").hidden = false;
}

/** One row of the n-best table; pointing at it highlights its span. */
function candidateRow(context, candidate, rank, best, top) {
  const row = element("tr");
  row.append(element("td", "num", String(rank + 1)));
  row.append(element("td", "candidate", candidate.text));
  const score = element("td", "num", candidate.score.toFixed(3));
  const bar = element("span", "bar");
  bar.style.width = `${Math.max(2, Math.round((80 * candidate.score) / top))}px`; // top: 80 px
  score.append(bar);
  row.append(score);
  row.append(element("td", "num", `${candidate.start}–${candidate.end}`));
  row.addEventListener("mouseenter", () => {
    row.classList.add("active");
    markedPassage(context, candidate.start, candidate.end, "candidate-span");
  });
  row.addEventListener("mouseleave", () => {
    row.classList.remove("active");
    markedPassage(context, best.start, best.end, "answer-span");
  });
  return row;
}

/** Show an answer: its text, score, latencies, the highlighted passage and the n-best. */
function showAnswer(context, data, roundTripMs) {
  $("error").hidden = true;
  $("answer").textContent = data.answer || "(no answer)";
  $("score").textContent = data.score.toFixed(3);
  $("latency").textContent =
    `${data.latency_ms.toFixed(0)} ms in the service (model ${data.model_ms.toFixed(0)} ms), ` +
    `${roundTripMs.toFixed(0)} ms round trip`;
  markedPassage(context, data.start, data.end, "answer-span");
  const nbest = data.nbest || [];
  const top = Math.max(...nbest.map((c) => c.score), 1e-9);
  const rows = nbest.map((c, i) => candidateRow(context, c, i, data, top));
  $("nbest").tBodies[0].replaceChildren(...rows);
  $("result").hidden = false;
}

/** Parse a response body as JSON, or keep its text when it is not JSON. */
function parseBody(text) {
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text };
  }
}

/** Ask the service; the passage shown is the one sent, so the offsets match it. */
async function ask(event) {
  event.preventDefault();
  const body = { question: $("question").value, context: $("context").value };
  $("ask").disabled = true;
  $("status").textContent = "asking…";
  const started = performance.now();
  try {
    const response = await fetch("answer", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = parseBody(await response.text());
    const roundTripMs = performance.now() - started;
    $("raw").textContent = JSON.stringify(data, null, 2);
    if (response.ok) {
      showAnswer(body.context, data, roundTripMs);
      $("status").textContent = `answered (HTTP ${response.status})`;
    } else {
      showError(`${response.status} ${response.statusText}: ${data.detail}`);
      $("status").textContent = `refused (HTTP ${response.status})`;
    }
  } catch (error) {
    showError(`no answer from the service: ${error.message}`);
    $("status").textContent = "";
  } finally {
    $("ask").disabled = false;
  }
}

/** Name the served model in the header (from GET /health). */
async function showModel() {
  try {
    const health = await (await fetch("health")).json();
    $("model").textContent = health.model;
  } catch {
    $("model").textContent = "unknown";
  }
}

$("ask-form").addEventListener("submit", ask);
$("context").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("ask-form").requestSubmit();
});
showModel().then(() => {
  document.body.dataset.ready = "true"; // tests wait for this
});
