// matrixcalculus web page: no framework, no network beyond this server.
"use strict";

(() => {
  const $ = (sel) => document.querySelector(sel);
  const KINDS = ["scalar", "vector", "matrix", "symmetric", "spd", "simplex"];
  // simplex takes one dimension (a probability vector) or two (probability rows)
  const NDIMS = { scalar: 0, vector: 1, matrix: 2, symmetric: 1, spd: 1, simplex: 1 };
  function ndims(kind, shape) {
    return kind === "simplex" ? Math.min(Math.max(shape.length, 1), 2) : NDIMS[kind];
  }
  const DIM_RE = /^(?:[A-Za-z_][A-Za-z0-9_]*|[1-9][0-9]*)$/;
  const FRESH_DIMS = ["n", "m", "k", "p", "q", "r", "d1", "d2", "d3"];

  const exprEl = $("#expr");
  const wrtEl = $("#wrt");
  const wrtListEl = $("#wrt-list");
  const LIST = "__list__";          // the wrt option that takes a list: a mixed derivative
  const orderEl = $("#order");

  const state = {
    decls: {},          // declarations the user chose: name -> "matrix(m,n)"
    variables: [],      // the last variables the server reported
    result: null,       // the last answer shown
    backend: "numpy",
  };
  let varsSeq = 0;
  let deriveSeq = 0;
  let timer = null;

  // ------------------------------------------------------------------ helpers
  function identifiers(expr) {
    return new Set(expr.match(/[A-Za-z_][A-Za-z0-9_]*/g) || []);
  }

  // only declarations of names still in the expression (a stale one would add a variable)
  function activeDecls(expr) {
    const ids = identifiers(expr);
    const out = {};
    for (const [name, decl] of Object.entries(state.decls)) {
      if (ids.has(name)) out[name] = decl;
    }
    return out;
  }

  async function post(path, body) {
    let response;
    try {
      response = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch (e) {
      return { ok: false, status: 0, data: { error: "connection", message: "the server cannot be reached" } };
    }
    let data;
    try {
      data = await response.json();
    } catch (e) {
      data = { error: "error", message: `the server answered ${response.status}` };
    }
    return { ok: response.ok, status: response.status, data };
  }

  // The steps as a table that fits its column: each row's equation scrolls on its own
  // where it is wider, and the notes (inline math) wrap.
  function renderSteps(el, rows) {
    el.textContent = "";
    const table = document.createElement("table");
    table.className = "steps";
    for (const [lhs, value, shape, note] of rows) {
      const tr = document.createElement("tr");
      const parts = [[`\\displaystyle ${lhs} = ${value}`, "eq"], [shape, "shape"], [note, "note"]];
      for (const [tex, cls] of parts) {
        const td = document.createElement("td");
        td.className = cls;
        const box = document.createElement("div");
        if (tex) {
          try {
            window.katex.render(tex, box, {
              displayMode: false, throwOnError: false, strict: "ignore", trust: false,
              maxSize: 50, maxExpand: 1000,
            });
          } catch (e) { box.textContent = tex; }
        }
        td.appendChild(box);
        tr.appendChild(td);
      }
      table.appendChild(tr);
    }
    el.appendChild(table);
  }

  function renderMath(el, latex) {
    el.textContent = "";
    if (window.katex) {
      try {
        window.katex.render(latex, el, {
          displayMode: true, throwOnError: false, strict: "ignore", trust: false,
          maxSize: 50, maxExpand: 1000,
        });
        return;
      } catch (e) { /* fall through to the source */ }
    }
    const code = document.createElement("code");
    code.textContent = latex;
    el.appendChild(code);
  }

  function declFor(kind, dims) {
    return kind === "scalar" ? "scalar" : `${kind}(${dims.join(",")})`;
  }

  // ------------------------------------------------------------------ errors
  function showError(data) {
    const box = $("#error");
    const where = data.in === "vars" ? "in a declaration: " : "";
    box.querySelector(".error-kind").textContent = data.error || "error";
    box.querySelector(".error-message").textContent = where + (data.message || "");
    const caret = box.querySelector(".error-caret");
    caret.textContent = data.caret || "";
    caret.hidden = !data.caret;
    box.hidden = false;
    exprEl.classList.toggle("invalid", data.in === "expr" && data.pos != null);
  }

  function clearError() {
    $("#error").hidden = true;
    exprEl.classList.remove("invalid");
  }

  // ------------------------------------------------------------------ variables
  function wrtText(wrt) {
    return Array.isArray(wrt) ? wrt.join(", ") : wrt;
  }

  // the variables, then "a list…" (mixed); a preferred "U, V" or ["U", "V"] selects the list
  function setWrtOptions(names, preferred) {
    const listed = Array.isArray(preferred) || (preferred || "").includes(",");
    const current = listed ? LIST : preferred || wrtEl.value;
    if (listed) wrtListEl.value = wrtText(preferred);
    wrtEl.textContent = "";
    for (const [value, label] of [...names.map((n) => [n, n]), [LIST, "a list (mixed)…"]]) {
      const opt = document.createElement("option");
      opt.value = value;
      opt.textContent = label;
      wrtEl.appendChild(opt);
    }
    if (names.includes(current) || current === LIST) wrtEl.value = current;
    else if (names.length) wrtEl.value = names[0];
    showWrtList();
  }

  function showWrtList() {
    const listed = wrtEl.value === LIST;
    wrtListEl.hidden = !listed;
    orderEl.disabled = listed;          // a mixed derivative's order is its list's length
  }

  function renderVariables(variables, preferredWrt) {
    state.variables = variables;
    setWrtOptions(variables.map((v) => v.name), preferredWrt);
    const body = $("#vars tbody");
    body.textContent = "";
    for (const v of variables) body.appendChild(variableRow(v));
    $("#vars-box").hidden = variables.length === 0;
  }

  function variableRow(v) {
    const tr = document.createElement("tr");
    tr.dataset.name = v.name;
    const declared = Object.prototype.hasOwnProperty.call(state.decls, v.name);
    if (declared) tr.classList.add("declared");

    const nameTd = document.createElement("td");
    const code = document.createElement("code");
    code.textContent = v.name;
    nameTd.appendChild(code);

    const kindTd = document.createElement("td");
    const select = document.createElement("select");
    select.className = "kind";
    select.setAttribute("aria-label", `type of ${v.name}`);
    for (const k of KINDS) {
      const opt = document.createElement("option");
      opt.value = k;
      opt.textContent = k;
      select.appendChild(opt);
    }
    select.value = v.kind;
    kindTd.appendChild(select);

    const dimsTd = document.createElement("td");
    dimsTd.className = "dims";
    const dims = v.shape.slice(0, ndims(v.kind, v.shape)).map(String);
    dims.forEach((d, i) => {
      if (i) dimsTd.appendChild(document.createTextNode(" × "));
      const input = document.createElement("input");
      input.type = "text";
      input.value = d;
      input.size = 4;
      input.className = "dim";
      input.setAttribute("aria-label", `dimension ${i + 1} of ${v.name}`);
      dimsTd.appendChild(input);
    });
    if (v.kind === "symmetric" || v.kind === "spd") dimsTd.appendChild(document.createTextNode(` × ${dims[0]}`));
    if (v.kind === "scalar") dimsTd.appendChild(document.createTextNode("—"));

    const resetTd = document.createElement("td");
    if (declared) {
      const reset = document.createElement("button");
      reset.type = "button";
      reset.className = "reset";
      reset.title = "back to the inferred type";
      reset.textContent = "reset";
      reset.addEventListener("click", () => {
        delete state.decls[v.name];
        changed(true);
      });
      resetTd.appendChild(reset);
    } else {
      resetTd.className = "inferred";
      resetTd.textContent = "(inferred)";
    }

    select.addEventListener("change", () => {
      const kind = select.value;
      const old = v.shape.map(String);
      const used = new Set(state.variables.flatMap((x) => x.shape.map(String)));
      const fresh = FRESH_DIMS.filter((d) => !used.has(d));
      const next = [];
      for (let i = 0; i < ndims(kind, old); i++) next.push(old[i] || fresh.shift() || `d${i + 1}`);
      if ((kind === "symmetric" || kind === "spd") && old.length === 2 && old[0] !== old[1]) next[0] = old[0];
      state.decls[v.name] = declFor(kind, next);
      changed(true);
    });
    dimsTd.addEventListener("change", () => {
      const values = [...dimsTd.querySelectorAll("input.dim")].map((i) => i.value.trim());
      const bad = values.find((d) => !DIM_RE.test(d));
      if (bad !== undefined) {
        showError({ error: "declaration error", in: "vars",
                    message: `dimension '${bad}' of ${v.name} must be a name (n) or a positive integer` });
        return;
      }
      state.decls[v.name] = declFor(select.value, values);
      changed(true);
    });

    tr.append(nameTd, kindTd, dimsTd, resetTd);
    return tr;
  }

  async function refreshVariables() {
    const expr = exprEl.value;
    const seq = ++varsSeq;
    if (!expr.trim()) {
      renderVariables([]);
      clearError();
      return;
    }
    const r = await post("api/variables", { expr, vars: activeDecls(expr) });
    if (seq !== varsSeq) return;             // a newer request is on its way
    if (r.ok) {
      clearError();
      renderVariables(r.data.variables);
    } else {
      showError(r.data);
    }
  }

  // ------------------------------------------------------------------ the answer
  function request() {
    const expr = exprEl.value;
    // a choice left over from the previous expression: let the server take the first variable
    if (wrtEl.value === LIST && wrtListEl.value.trim()) {
      return { expr, wrt: wrtListEl.value.trim(), vars: activeDecls(expr), order: null };
    }
    const wrt = identifiers(expr).has(wrtEl.value) ? wrtEl.value : null;
    return { expr, wrt, vars: activeDecls(expr), order: Number(orderEl.value) };
  }

  async function derive(push) {
    const req = request();
    if (!req.expr.trim()) {
      showError({ error: "empty", message: "type an expression, such as x'*A*x" });
      return;
    }
    const seq = ++deriveSeq;
    ++varsSeq;                               // this answer brings the variables too
    $("#busy").hidden = false;
    const r = await post("api/derivative", { ...req, check: true });
    if (seq !== deriveSeq) return;
    $("#busy").hidden = true;
    if (!r.ok) {
      showError(r.data);
      $("#result").hidden = true;          // an answer to another question would mislead
      state.result = null;
      if (r.data.error === "syntax error") renderVariables([]);
      return;
    }
    clearError();
    renderVariables(r.data.variables, r.data.wrt);
    renderResult(r.data);
    writeURL({ ...req, wrt: wrtText(r.data.wrt) }, push);
  }

  function renderResult(d) {
    state.result = d;
    const title = $("#result-title");
    title.textContent = `${d.title} of `;     // the server's words for the kind
    const e = document.createElement("code");
    e.textContent = d.expr;
    title.appendChild(e);
    title.appendChild(document.createTextNode(" with respect to "));
    const w = document.createElement("code");
    w.textContent = wrtText(d.wrt);
    title.appendChild(w);

    $("#shape").textContent = d.shape_text;
    renderMath($("#math"), d.latex);
    // index notation: the einsum text that parses back, and the vec form where one exists
    $("#text").textContent = (d.text_multiline || d.text)
      + (d.extras || []).map(([label, t]) => `\n${label}: ${t}`).join("");
    // every variable as it was read (type, dimensions, where that came from), and the notes
    $("#read-as").textContent = "variables: " + (d.variables || [])
      .map((v) => `${v.name}: ${v.declaration} (${v.origin})`).join("; ");
    const notes = $("#notes");
    notes.replaceChildren();
    for (const n of d.notes || []) {
      const li = document.createElement("li");
      li.textContent = `note: ${n}`;
      notes.appendChild(li);
    }
    notes.hidden = !(d.notes || []).length;

    const check = $("#check");
    check.className = "check";
    const c = d.check || { ok: null, message: "not available" };
    if (c.ok === true) {
      check.classList.add("ok");
      check.textContent = `✓ Numerical check: ${c.message}`;
    } else if (c.ok === false) {
      check.classList.add("bad");
      check.textContent = `✗ Numerical check failed: ${c.message}`;
    } else {
      check.classList.add("na");
      check.textContent = `Numerical check: ${c.message || "not available"}`;
    }

    const hvp = $("#hvp-box");
    if (d.hvp) {
      hvp.hidden = false;
      $("#hvp-dir").textContent = d.hvp.direction;
      $("#hvp-shape").textContent = d.hvp.shape_text;
      renderMath($("#hvp-math"), d.hvp.latex);
      $("#hvp-text").textContent = d.hvp.text;
      $("#hvp-code").textContent = d.hvp.code;
    } else {
      hvp.hidden = true;
    }

    const steps = $("#steps-box");
    if (d.steps && (d.steps.latex || d.steps.text)) {
      steps.hidden = false;
      if (d.steps.rows && window.katex) renderSteps($("#steps-math"), d.steps.rows);
      else if (d.steps.latex) renderMath($("#steps-math"), d.steps.latex);
      else $("#steps-math").textContent = "";
      $("#steps-text").textContent = d.steps.text || "";
      $("#steps-text").hidden = Boolean(d.steps.latex);   // the text only where no LaTeX
    } else {
      steps.hidden = true;
    }

    showCode(state.backend);
    const result = $("#result");
    result.hidden = false;
    result.classList.remove("stale");
  }

  function showCode(backend) {
    state.backend = backend;
    for (const tab of document.querySelectorAll(".tabs [role=tab]")) {
      tab.setAttribute("aria-selected", String(tab.dataset.backend === backend));
    }
    $("#code").textContent = state.result ? state.result.code[backend] : "";
  }

  async function copy(button, text) {
    let done = false;
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        done = true;
      } catch (e) { /* fall back below */ }
    }
    if (!done) {
      const area = document.createElement("textarea");
      area.value = text;
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      try { done = document.execCommand("copy"); } catch (e) { done = false; }
      area.remove();
    }
    const label = button.textContent;
    button.textContent = done ? "Copied" : "Copy failed";
    setTimeout(() => { button.textContent = label; }, 1200);
  }

  // ------------------------------------------------------------------ the URL holds the state
  function writeURL(req, push) {
    const p = new URLSearchParams();
    p.set("expr", req.expr);
    if (req.wrt) p.set("wrt", req.wrt);
    if (req.order !== 1 && req.order !== null) p.set("order", String(req.order));
    for (const [name, decl] of Object.entries(req.vars)) p.append("var", `${name}:${decl}`);
    const search = "?" + p.toString();
    if (search === window.location.search) return;
    if (push) window.history.pushState(null, "", search);
    else window.history.replaceState(null, "", search);
  }

  function loadFromURL() {
    const p = new URLSearchParams(window.location.search);
    const expr = p.get("expr") || "";
    exprEl.value = expr;
    const order = p.get("order") || "1";
    orderEl.value = ["1", "2", "3", "4"].includes(order) ? order : "1";
    state.decls = {};
    for (const item of p.getAll("var")) {
      const i = item.indexOf(":");
      if (i > 0) state.decls[item.slice(0, i).trim()] = item.slice(i + 1).trim();
    }
    const wrt = p.get("wrt");
    setWrtOptions(wrt && !wrt.includes(",") ? [wrt] : [], wrt);
    if (expr.trim()) {
      derive(false);
    } else {
      $("#result").hidden = true;
      renderVariables([]);
      clearError();
    }
  }

  // ------------------------------------------------------------------ wiring
  function changed(typesChanged) {
    if (state.result) $("#result").classList.add("stale");
    if (typesChanged && state.result) {
      derive(true);
    } else {
      refreshVariables();
    }
  }

  $("#form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearTimeout(timer);
    derive(true);
  });
  exprEl.addEventListener("input", () => {
    if (state.result) $("#result").classList.add("stale");
    clearTimeout(timer);
    timer = setTimeout(refreshVariables, 250);
  });
  wrtEl.addEventListener("change", () => {
    showWrtList();
    if (wrtEl.value === LIST) wrtListEl.focus();
    else if (state.result) derive(true);
  });
  wrtListEl.addEventListener("change", () => { if (state.result) derive(true); });
  orderEl.addEventListener("change", () => { if (state.result) derive(true); });
  for (const tab of document.querySelectorAll(".tabs [role=tab]")) {
    tab.addEventListener("click", () => showCode(tab.dataset.backend));
  }
  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", () => {
      const text = button.dataset.copy === "code" ? $("#code").textContent : $("#text").textContent;
      copy(button, text);
    });
  }
  for (const a of document.querySelectorAll("#examples a")) {
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      window.history.pushState(null, "", a.getAttribute("href"));
      loadFromURL();
    });
  }
  window.addEventListener("popstate", loadFromURL);
  loadFromURL();
})();
