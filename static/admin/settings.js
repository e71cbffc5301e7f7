/* Settings pages. The preview (price table, example cart, the offer at checkout) follows the draft as the merchant
 * types: the form is posted to /admin/settings/preview, which prices it with the server's own pricing code and
 * saves nothing. Sections that matter for one choice only (price bands, an insurer's own settings) show with that
 * choice. Everything from the server is put on the page as text (textContent), never as HTML. */
(function () {
  "use strict";
  var DEBOUNCE_MS = 300;
  var form = document.getElementById("settings-form");
  if (!form) return;

  function showChosenSections() {
    var sections = form.querySelectorAll("[data-shown-when]");
    for (var i = 0; i < sections.length; i++) {
      var spec = sections[i].getAttribute("data-shown-when");
      var at = spec.indexOf("=");
      var control = form.elements.namedItem(spec.slice(0, at));
      if (control && "value" in control) sections[i].hidden = control.value !== spec.slice(at + 1);
    }
    var notes = form.querySelectorAll("p.when");
    for (var j = 0; j < notes.length; j++) notes[j].hidden = true; // the script shows only what is used
  }
  showChosenSections();
  form.addEventListener("change", showChosenSections);

  var url = form.getAttribute("data-preview-url");
  var table = document.getElementById("price-table");
  var status = document.getElementById("preview-status");
  if (!url || !table || !status) return;
  var token = (form.querySelector("input[name=csrf_token]") || {}).value || "";
  var timer = null;
  var sent = 0;
  var shown = 0;

  function text(node, value) { if (node) node.textContent = value == null ? "" : String(value); }

  function cell(row, value, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = value;
    row.appendChild(td);
    return td;
  }

  function showErrors(errors) {
    var slots = form.querySelectorAll("[data-error-for]");
    for (var i = 0; i < slots.length; i++) {
      var name = slots[i].getAttribute("data-error-for");
      var messages = [].concat(errors[name] || []);
      slots[i].textContent = messages.join(" ");
      slots[i].hidden = messages.length === 0;
      var input = form.elements.namedItem(name);
      if (input && input.setAttribute) {
        if (messages.length) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
      }
    }
  }

  function showTable(rows) {
    var body = table.tBodies[0] || table.appendChild(document.createElement("tbody"));
    while (body.firstChild) body.removeChild(body.firstChild);
    for (var i = 0; i < rows.length; i++) {
      var row = document.createElement("tr");
      row.setAttribute("data-value", String(rows[i].declared_value));
      cell(row, rows[i].shown.declared_value, "num");
      if (rows[i].eligible) {
        cell(row, rows[i].shown.premium, "num");
        cell(row, rows[i].shown.customer_price, "num");
        cell(row, rows[i].shown.merchant_contribution, "num");
      } else {
        cell(row, rows[i].shown.note || "", "muted").colSpan = 3;
      }
      body.appendChild(row);
    }
  }

  function showExample(example) {
    var offered = example && example.eligible;
    text(document.getElementById("example-premium"), offered ? example.shown.premium : "—");
    text(document.getElementById("example-customer-price"), offered ? example.shown.customer_price : "—");
    text(document.getElementById("example-merchant-contribution"), offered ? example.shown.merchant_contribution : "—");
  }

  function showWidget(view) {
    var box = document.getElementById("widget-preview-" + view.language);
    if (!box) return;
    var offer = box.querySelector(".sp-box");
    var note = box.querySelector(".sp-note");
    var terms = box.querySelector(".sp-terms");
    text(box.querySelector(".sp-title"), view.title);
    text(box.querySelector(".sp-price"), view.price);
    text(box.querySelector(".sp-desc"), view.description);
    text(terms, view.terms_label);
    if (terms && /^https?:\/\//i.test(view.terms_url || "")) terms.href = view.terms_url;
    if (offer) offer.hidden = !view.shown;
    text(note, view.note || "");
    if (note) note.hidden = !!view.shown;
  }

  function show(answer) {
    showErrors(Object.assign({}, answer.errors || {}, answer.example_errors || {}));
    var preview = answer.preview;
    if (!preview) {
      showTable([]);
      showExample(null);
      text(status, status.getAttribute("data-text-fix"));
      return;
    }
    showTable(preview.rows || []);
    showExample(preview.example);
    for (var i = 0; i < (preview.widgets || []).length; i++) showWidget(preview.widgets[i]);
    text(status, status.getAttribute("data-text-ready"));
  }

  function send() {
    var mine = ++sent;
    var body = new URLSearchParams();
    var data = new FormData(form);
    data.forEach(function (value, key) { if (typeof value === "string" && key !== "action") body.append(key, value); });
    fetch(url, {
      method: "POST",
      headers: { "X-CSRFToken": token, "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString(),
      credentials: "same-origin"
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (answer) {
        if (mine < shown) return; // an older answer arriving late: the newer one is already on the page
        shown = mine;
        show(answer);
      })
      .catch(function () {
        if (mine === sent) text(status, status.getAttribute("data-text-unavailable"));
      });
  }

  function schedule(event) {
    if (event && event.target && event.target.id && event.target.id.indexOf("sp-choice") === 0) return;
    clearTimeout(timer);
    text(status, status.getAttribute("data-text-working"));
    timer = setTimeout(send, DEBOUNCE_MS);
  }
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
})();
