// The explorer's pages, drawn from window.EXPLORER_DATA (written by qa_utils.workflow.explore).
// All text reaches the page as text nodes or attribute values, never as HTML: passages,
// questions and answers hold <, & and quotes.
"use strict";

(() => {
  const DATA = window.EXPLORER_DATA;

  /** An element with properties (class, text, on<event>, attributes) and children. */
  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child)); // strings become text nodes
    }
    return node;
  }

  /** A number with fixed digits, or a dash when it is missing. */
  function fmt(value, digits = 1) {
    return value === null || value === undefined ? "–" : value.toFixed(digits);
  }

  /** "72.3 [70.1, 74.4]": a metric with its 95% interval. */
  function withInterval(metrics, key) {
    return `${fmt(metrics[key])} [${fmt(metrics[`${key}_low`])}, ${fmt(metrics[`${key}_high`])}]`;
  }

  /** A class name for an F1 value: exact, partial or wrong. */
  function grade(f1) {
    if (f1 === null) return "none";
    return f1 >= 100 ? "exact" : f1 > 0 ? "partial" : "wrong";
  }

  /** A horizontal bar of an F1 value (0-100). */
  function bar(value) {
    const fill = el("span", { class: "bar-fill" });
    fill.style.width = `${Math.max(0, Math.min(100, value || 0))}%`;
    return el("span", { class: "bar" }, fill);
  }

  /** An article title as people write it (SQuAD titles use underscores). */
  const titleText = (title) => title.replaceAll("_", " ");

  /** "A · name" when two systems are compared (tables say A and B), else the name. */
  function systemLabel(data, i) {
    return data.names.length > 1 ? `${"AB"[i]} · ${data.names[i]}` : data.names[i];
  }

  /** " A" / " B" after a column label when two systems are compared. */
  const columnTag = (data, i) => (data.names.length > 1 ? ` ${"AB"[i]}` : "");

  // --- highlighting ------------------------------------------------------------------------

  /**
   * Pieces of a passage: where gold spans, the predicted span, or both cover the text.
   * gold: [[text, start], ...]; pred: {start, end} (start < 0: not found in the passage).
   */
  function segments(length, gold, pred) {
    const spans = gold
      .map(([text, start]) => [start, start + text.length])
      .filter(([s, e]) => s >= 0 && e <= length && s < e);
    const predicted = pred.start >= 0 && pred.end <= length && pred.start < pred.end;
    const cuts = new Set([0, length]);
    for (const [s, e] of spans) cuts.add(s).add(e);
    if (predicted) cuts.add(pred.start).add(pred.end);
    const points = [...cuts].sort((a, b) => a - b);
    const pieces = [];
    for (let i = 0; i + 1 < points.length; i++) {
      const [a, b] = [points[i], points[i + 1]];
      const inGold = spans.some(([s, e]) => s <= a && b <= e);
      const inPred = predicted && pred.start <= a && b <= pred.end;
      const kind = inGold && inPred ? "both" : inGold ? "gold" : inPred ? "pred" : "plain";
      const last = pieces[pieces.length - 1];
      if (last && last.kind === kind) last.end = b;
      else pieces.push({ kind, start: a, end: b });
    }
    return pieces;
  }

  const MARK_TITLES = {
    gold: "gold answer only",
    pred: "predicted answer only",
    both: "gold and predicted answer overlap",
  };

  /** The passage with gold, predicted and overlapping spans marked in their colours. */
  function passage(context, gold, answer) {
    const box = el("p", { class: "passage" });
    for (const piece of segments(context.length, gold, answer)) {
      const text = context.slice(piece.start, piece.end);
      box.append(
        piece.kind === "plain"
          ? text
          : el("mark", { class: `hl-${piece.kind}`, title: MARK_TITLES[piece.kind] }, text),
      );
    }
    return box;
  }

  // --- index page --------------------------------------------------------------------------

  /** One system's box on the index: EM/F1 with intervals, ids without a match, confidences. */
  function systemSummary(data, i) {
    const m = data.overall[i];
    const ids = data.ids[i];
    const notes = [];
    if (ids.missing) notes.push(`${ids.missing} questions without a prediction (scored 0)`);
    if (ids.unknown) notes.push(`${ids.unknown} predictions for unknown ids (ignored)`);
    notes.push(data.has_confidence[i] ? "with confidences" : "no confidences");
    return el(
      "div",
      { class: "summary-box" },
      el("div", { class: "sys-name", text: systemLabel(data, i) }),
      el(
        "div",
        { class: "big" },
        el("span", { class: "label", text: "EM " }),
        withInterval(m, "em"),
      ),
      el(
        "div",
        { class: "big" },
        el("span", { class: "label", text: "F1 " }),
        withInterval(m, "f1"),
      ),
      el("div", {
        class: "muted",
        text: `${m.n.toLocaleString("en")} questions · ${notes.join(" · ")}`,
      }),
    );
  }

  /** The paired test of the two systems (A minus B), or nothing with one system. */
  function comparisonSummary(data) {
    if (!data.comparison) return null;
    const lines = data.comparison.map(
      (r) =>
        `${r.metric.toUpperCase()} A − B: ` +
        `${r.difference >= 0 ? "+" : ""}${fmt(r.difference, 2)} ` +
        `[${fmt(r.ci_low, 2)}, ${fmt(r.ci_high, 2)}], p = ${r.p_value.toPrecision(2)}`,
    );
    return el(
      "div",
      { class: "summary-box compare-box" },
      el("div", { class: "sys-name", text: "Paired comparison" }),
      lines.map((line) => el("div", { text: line })),
      el("div", { class: "muted", text: `${data.differ} questions answered differently` }),
    );
  }

  /** A table whose rows re-sort when a header is clicked. */
  function sortableTable(id, columns, rows) {
    const body = el("tbody");
    const state = { key: null, ascending: true };
    const draw = () => {
      const sorted = [...rows];
      if (state.key !== null) {
        const value = columns[state.key].value;
        sorted.sort((a, b) => {
          const [x, y] = [value(a), value(b)];
          const order = typeof x === "string" ? x.localeCompare(y) : (x ?? -1) - (y ?? -1);
          return state.ascending ? order : -order;
        });
      }
      body.replaceChildren(
        ...sorted.map((row) =>
          el(
            "tr",
            {},
            columns.map((c) => c.cell(row)),
          ),
        ),
      );
    };
    const head = el(
      "tr",
      {},
      columns.map((column, k) =>
        el("th", {
          class: column.value ? "sortable" : "",
          text: column.label,
          title: column.value ? "click to sort" : null,
          onclick: column.value
            ? () => {
                state.ascending = state.key === k ? !state.ascending : true;
                state.key = k;
                draw();
              }
            : null,
        }),
      ),
    );
    draw();
    return el("table", { id, class: "grid" }, el("thead", {}, head), body);
  }

  /** The articles table's columns: how each cell is drawn and what it sorts by. */
  function articleColumns(data) {
    const columns = [
      {
        label: "#",
        value: (r) => r.position,
        cell: (r) => el("td", { class: "num", text: r.position + 1 }),
      },
      {
        label: "Article",
        value: (r) => r.title,
        cell: (r) =>
          el("td", { class: "title-cell" }, el("a", { href: r.page, text: titleText(r.title) })),
      },
      {
        label: "Paragraphs",
        value: (r) => r.paragraphs,
        cell: (r) => el("td", { class: "num", text: r.paragraphs }),
      },
      {
        label: "Questions",
        value: (r) => r.questions,
        cell: (r) => el("td", { class: "num", text: r.questions }),
      },
    ];
    data.names.forEach((_, i) => {
      const tag = columnTag(data, i);
      columns.push(
        {
          label: `EM${tag}`,
          value: (r) => r.systems[i].em,
          cell: (r) => el("td", { class: "num", text: fmt(r.systems[i].em) }),
        },
        {
          label: `F1 [95% CI]${tag}`,
          value: (r) => r.systems[i].f1,
          cell: (r) =>
            el(
              "td",
              { class: "num f1-cell" },
              bar(r.systems[i].f1),
              withInterval(r.systems[i], "f1"),
            ),
        },
      );
    });
    if (data.names.length > 1) {
      columns.push({
        label: "Differ",
        value: (r) => r.differ,
        cell: (r) => el("td", { class: "num", text: r.differ }),
      });
    }
    return columns;
  }

  /** The index page: summaries and the table of articles. */
  function renderIndex(data) {
    document.title = `SQuAD explorer: ${data.names.join(" vs ")}`;
    const rows = data.articles.map((row, position) => ({ ...row, position }));
    const total = rows.reduce((sum, r) => sum + r.questions, 0);
    return [
      el(
        "header",
        { class: "top" },
        el("h1", { text: "SQuAD explorer" }),
        el("p", {
          class: "sub",
          text: `${data.names.join(" vs ")} on ${data.dataset}: ${rows.length} articles, ${total.toLocaleString("en")} questions`,
        }),
      ),
      el(
        "main",
        {},
        el(
          "section",
          { class: "summary" },
          data.names.map((_, i) => systemSummary(data, i)),
          comparisonSummary(data),
        ),
        el("h2", { text: "Articles" }),
        el("p", {
          class: "muted",
          text: "Open an article to read its questions; click a column to sort.",
        }),
        sortableTable("articles", articleColumns(data), rows),
        el("p", {
          class: "muted",
          text:
            `Answer types: ${data.typing}. EM/F1 by slice with intervals, error categories and ` +
            "calibration: python -m qa_utils analyse DATASET PREDICTIONS --out DIR.",
        }),
      ),
    ];
  }

  // --- article page: questions, filters, sorting -------------------------------------------

  /** The article's questions in passage order, with what the filters and sorting need. */
  function questionItems(data) {
    const items = [];
    data.paragraphs.forEach((paragraph, p) => {
      for (const q of paragraph.questions) {
        const texts = [
          q.id,
          q.question,
          ...q.gold.map((g) => g[0]),
          ...q.answers.map((a) => a.text),
        ];
        const differ =
          q.answers.length > 1 && q.answers[0].text.trim() !== q.answers[1].text.trim();
        items.push({
          q,
          paragraph: p,
          order: items.length,
          context: paragraph.context,
          haystack: texts.join("\n").toLowerCase(),
          wrong: q.answers.some((a) => a.em < 100),
          differ,
          gap: differ ? Math.abs(q.answers[0].f1 - q.answers[1].f1) : 0,
        });
      }
    });
    return items;
  }

  /** A small label (answer type, slice, error category). */
  function chip(text, className = "") {
    return el("span", { class: `chip ${className}`.trim(), text });
  }

  /** One system's answer to a question: scores, prediction and the highlighted passage. */
  function systemColumn(data, item, i) {
    const a = item.q.answers[i];
    const prediction = a.text
      ? el("span", { class: "pred-text", text: a.text })
      : el("span", {
          class: "pred-text no-answer",
          text: a.missing ? "not in the prediction file" : "no answer",
        });
    const missing = a.text && a.start < 0 ? chip("not found in the passage", "warn") : null;
    return el(
      "section",
      { class: "system", "data-system": i },
      el(
        "div",
        { class: "sys-head" },
        data.names.length > 1
          ? el("span", { class: "sys-name", text: systemLabel(data, i) })
          : null,
        el("span", {
          class: `score em ${a.em >= 100 ? "exact" : "wrong"}`,
          text: `EM ${fmt(a.em, 0)}`,
        }),
        el("span", { class: `score f1 ${grade(a.f1)}`, text: `F1 ${fmt(a.f1)}` }),
        a.confidence === null
          ? null
          : el("span", { class: "conf", text: `confidence ${fmt(a.confidence, 3)}` }),
      ),
      el(
        "div",
        { class: "prediction" },
        el("span", { class: "label", text: "Prediction " }),
        prediction,
        " ",
        a.text ? chip(a.type, "type") : null, // an empty answer has no type
        chip(a.error, "error"),
        missing,
      ),
      passage(item.context, item.q.gold, a),
    );
  }

  /** A question's card: question, gold answers, slices and every system's column. */
  function card(data, item) {
    const q = item.q;
    const golds = [...new Set(q.gold.map((g) => g[0]))];
    const slices = Object.entries(q.slices).map(([column, value]) =>
      chip(`${data.slices[column].name}: ${value}`, "slice"),
    );
    return el(
      "article",
      {
        class: `qa ${item.differ ? "differs" : ""}`.trim(),
        "data-id": q.id,
        "data-f1": q.answers[0].f1,
      },
      el(
        "div",
        { class: "qa-head" },
        el("span", { class: "qa-question", text: q.question }),
        item.differ ? chip("answers differ", "differ-chip") : null,
        el("span", { class: "qa-id", text: `${q.id} · paragraph ${item.paragraph + 1}` }),
      ),
      el(
        "div",
        { class: "qa-gold" },
        el("span", { class: "label", text: "Gold " }),
        golds.map((g, k) => [
          k ? el("span", { class: "sep", text: " | " }) : null,
          el("span", { class: "gold-answer", text: g }),
        ]),
        " ",
        chip(q.type, "type gold-type"),
      ),
      el("div", { class: "qa-slices" }, slices),
      el(
        "div",
        { class: `qa-systems n${q.answers.length}` },
        q.answers.map((_, i) => systemColumn(data, item, i)),
      ),
    );
  }

  /** The filter and sort controls; `onchange` redraws the list. */
  function toolbar(data, items, onchange) {
    const compare = data.names.length > 1;
    const hasConfidence = data.has_confidence[0];
    const count = (test) => items.filter(test).length;
    const typeSelect = el(
      "select",
      { id: "f-type", onchange },
      el("option", { value: "", text: "any answer type" }),
      data.answer_types
        .map((t) => [t, count((it) => it.q.type === t)])
        .filter(([, n]) => n > 0)
        .map(([t, n]) => el("option", { value: t, text: `${t} (${n})` })),
    );
    const sliceOptions = [];
    const groups = Object.entries(data.slices).map(([column, slice]) => {
      const present = new Set(items.map((it) => it.q.slices[column]));
      return el(
        "optgroup",
        { label: slice.name },
        slice.values
          .filter((value) => present.has(value))
          .map((value) => {
            sliceOptions.push((it) => it.q.slices[column] === value);
            return el("option", {
              value: sliceOptions.length - 1,
              text: `${value} (${count(sliceOptions.at(-1))})`,
            });
          }),
      );
    });
    const errorLabel = compare ? "Error category (A)" : "Error category";
    groups.push(
      el(
        "optgroup",
        { label: errorLabel },
        data.error_categories
          .filter((e) => count((it) => it.q.answers[0].error === e) > 0)
          .map((e) => {
            sliceOptions.push((it) => it.q.answers[0].error === e);
            return el("option", {
              value: sliceOptions.length - 1,
              text: `${e} (${count(sliceOptions.at(-1))})`,
            });
          }),
      ),
    );
    const sliceSelect = el(
      "select",
      { id: "f-slice", onchange },
      el("option", { value: "", text: "any slice" }),
      groups,
    );
    const sorts = [["passage", "passage order"]];
    if (compare) sorts.unshift(["differ", "answers that differ first"]);
    sorts.push(["f1-asc", "F1, lowest first"], ["f1-desc", "F1, highest first"]);
    if (hasConfidence)
      sorts.push(
        ["conf-asc", "confidence, lowest first"],
        ["conf-desc", "confidence, highest first"],
      );
    const number = (id, placeholder) =>
      el("input", {
        id,
        type: "number",
        min: 0,
        max: 1,
        step: 0.05,
        placeholder,
        disabled: !hasConfidence,
        title: hasConfidence ? null : "no confidences: pass --records records.parquet",
        oninput: onchange,
        onchange,
      });
    const bar = el(
      "div",
      { class: "toolbar" },
      el(
        "label",
        {},
        el("input", { id: "f-wrong", type: "checkbox", onchange }),
        compare ? " wrong in either" : " wrong only",
      ),
      compare
        ? el(
            "label",
            {},
            el("input", { id: "f-differ", type: "checkbox", onchange }),
            " answers differ",
          )
        : null,
      typeSelect,
      sliceSelect,
      el(
        "span",
        { class: "conf-range" },
        "confidence ",
        number("f-conf-min", "min"),
        " – ",
        number("f-conf-max", "max"),
      ),
      el("input", {
        id: "f-search",
        type: "search",
        placeholder: "search questions, answers, ids",
        oninput: onchange,
        onchange,
      }),
      el(
        "label",
        {},
        "sort ",
        el(
          "select",
          { id: "f-sort", onchange },
          sorts.map(([v, t]) => el("option", { value: v, text: t })),
        ),
      ),
      el("span", { id: "count", class: "count" }),
    );
    return { bar, sliceOptions };
  }

  /** The predicate of the current filter settings. */
  function currentFilter(sliceOptions) {
    const value = (id) => document.getElementById(id)?.value ?? "";
    const checked = (id) => document.getElementById(id)?.checked ?? false;
    const [wrong, differ, type, slice] = [
      checked("f-wrong"),
      checked("f-differ"),
      value("f-type"),
      value("f-slice"),
    ];
    const [low, high] = [value("f-conf-min"), value("f-conf-max")];
    const search = value("f-search").trim().toLowerCase();
    return (it) => {
      if (wrong && !it.wrong) return false;
      if (differ && !it.differ) return false;
      if (type && it.q.type !== type) return false;
      if (slice && !sliceOptions[Number(slice)](it)) return false;
      if (low !== "" || high !== "") {
        const c = it.q.answers[0].confidence;
        if (c === null || (low !== "" && c < Number(low)) || (high !== "" && c > Number(high)))
          return false;
      }
      return !search || it.haystack.includes(search);
    };
  }

  /** Items in the chosen order; ties keep passage order. */
  function sorted(items, how) {
    const missingLast = (x, sign) => (x === null ? Infinity : sign * x);
    const keys = {
      passage: () => 0,
      differ: (it) => (it.differ ? -1 - it.gap : 0),
      "f1-asc": (it) => missingLast(it.q.answers[0].f1, 1),
      "f1-desc": (it) => missingLast(it.q.answers[0].f1, -1),
      "conf-asc": (it) => missingLast(it.q.answers[0].confidence, 1),
      "conf-desc": (it) => missingLast(it.q.answers[0].confidence, -1),
    };
    const key = keys[how] || keys.passage;
    return [...items].sort((a, b) => key(a) - key(b) || a.order - b.order);
  }

  /** Scroll the passage boxes of new cards to their first highlight (all reads, then writes). */
  function revealHighlights(nodes) {
    const boxes = nodes.flatMap((node) => [...node.querySelectorAll(".passage")]);
    // a mark's offsetTop is within its passage box (position: relative); keep a line above it
    const tops = boxes.map((box) => box.querySelector("mark")?.offsetTop ?? 0);
    boxes.forEach((box, i) => {
      box.scrollTop = Math.max(0, tops[i] - 24);
    });
  }

  /** What the highlight colours mean. */
  function legend(data) {
    // our records carry each answer's own span; a text-only file's is found by searching
    const located = data.has_confidence.some((has) => !has);
    return el(
      "div",
      { class: "legend" },
      el("mark", { class: "hl-gold", text: "gold answer" }),
      el("mark", { class: "hl-pred", text: "predicted answer" }),
      el("mark", { class: "hl-both", text: "both (overlap)" }),
      located
        ? el("span", {
            class: "muted",
            text: "Predictions given as text only are placed at their first occurrence in the passage.",
          })
        : null,
    );
  }

  /** The article's header: navigation, title, counts and scores. */
  function articleHeader(data, items) {
    const nav = el(
      "nav",
      {},
      el("a", { href: "../index.html", text: "← all articles" }),
      data.prev ? el("a", { href: data.prev, text: "‹ previous" }) : null,
      data.next ? el("a", { href: data.next, text: "next ›" }) : null,
    );
    const scores = data.metrics.map(
      (m, i) =>
        `${data.names.length > 1 ? `${systemLabel(data, i)}: ` : ""}EM ${withInterval(m, "em")} · F1 ${withInterval(m, "f1")}`,
    );
    return el(
      "header",
      { class: "top" },
      nav,
      el("h1", { text: titleText(data.title) }),
      el("p", {
        class: "sub",
        text: `Article ${data.position + 1} of ${data.count} · ${data.paragraphs.length} paragraphs · ${items.length} questions`,
      }),
      scores.map((line) => el("p", { class: "sub scores", text: line })),
    );
  }

  const CHUNK = 50; // cards drawn at a time: the largest article has 810 questions

  /** The article page: toolbar, legend and the cards, drawn CHUNK at a time. */
  function renderArticle(data) {
    document.title = `${titleText(data.title)}: SQuAD explorer`;
    const items = questionItems(data);
    const list = el("div", { id: "questions" });
    const more = el("button", { id: "more", type: "button", hidden: true });
    const cards = new Map();
    const view = { shown: [], drawn: 0, paragraph: -1, how: "passage" };
    let controls = null;
    const drawMore = () => {
      const nodes = [];
      const end = Math.min(view.shown.length, view.drawn + CHUNK);
      for (const item of view.shown.slice(view.drawn, end)) {
        if (view.how === "passage" && item.paragraph !== view.paragraph) {
          view.paragraph = item.paragraph;
          nodes.push(
            el("h3", { class: "paragraph-head", text: `Paragraph ${item.paragraph + 1}` }),
          );
        }
        if (!cards.has(item)) cards.set(item, card(data, item));
        nodes.push(cards.get(item));
      }
      list.append(...nodes);
      revealHighlights(nodes);
      view.drawn = end;
      const left = view.shown.length - end;
      more.hidden = left === 0;
      more.textContent = `show ${Math.min(CHUNK, left)} more (${left} not shown yet)`;
    };
    const draw = () => {
      view.how = document.getElementById("f-sort").value;
      view.shown = sorted(items.filter(currentFilter(controls.sliceOptions)), view.how);
      view.drawn = 0;
      view.paragraph = -1;
      document.getElementById("count").textContent =
        `${view.shown.length} of ${items.length} questions`;
      list.replaceChildren();
      if (!view.shown.length)
        list.append(el("p", { class: "empty", text: "No question matches these filters." }));
      drawMore();
    };
    more.addEventListener("click", drawMore);
    // the next cards are drawn as the reader scrolls near the end of those drawn
    new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting) && !more.hidden) drawMore();
      },
      { rootMargin: "600px" },
    ).observe(more);
    controls = toolbar(data, items, draw);
    const main = el("main", {}, controls.bar, legend(data), list, more);
    return { nodes: [articleHeader(data, items), main], draw };
  }

  /** Draw the page this data script belongs to. */
  function start() {
    const app = document.getElementById("app");
    if (!DATA) {
      app.textContent = "The data script of this page did not load.";
      return;
    }
    if (DATA.page === "index") {
      app.replaceChildren(...renderIndex(DATA));
    } else {
      const { nodes, draw } = renderArticle(DATA);
      app.replaceChildren(...nodes);
      draw();
    }
    document.body.dataset.ready = "true"; // tests wait for this
  }

  start();
})();
