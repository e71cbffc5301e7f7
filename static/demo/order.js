/* The demo order page: ship the parcel, then watch the protection and its policy as the worker binds it. */
(function () {
  "use strict";
  var section = document.getElementById("order");
  var token = document.querySelector("meta[name=csrf-token]").content;

  function money(amount, currency) {
    if (amount === null || amount === undefined) return "—";
    var format = new Intl.NumberFormat("en", { style: "currency", currency: currency });
    return format.format(amount / Math.pow(10, format.resolvedOptions().maximumFractionDigits));
  }

  function cell(row, text) { var td = document.createElement("td"); td.textContent = text; row.appendChild(td); }

  function render(state) {
    var p = state.protection;
    document.getElementById("protection-status").textContent = p ? p.status + (p.disputed ? " (disputed)" : "") : "not protected (yet)";
    document.getElementById("protection-premium").textContent = p ? money(p.customer_price, p.currency) : "—";
    document.getElementById("protection-consent").textContent = p && p.consent ? p.consent + (p.consent_verified ? " ✓" : "") : "—";
    var body = document.getElementById("parcels");
    body.replaceChildren();
    state.shipments.forEach(function (s) {
      var row = document.createElement("tr");
      var policy = s.policy || {};
      row.className = "parcel";
      row.dataset.policyStatus = policy.status || "none";
      cell(row, s.shipment_id);
      cell(row, s.carrier + " " + s.tracking_number + " · " + s.tracking_status);
      cell(row, policy.status || (s.uninsured_reason || "not insured"));
      cell(row, policy.certificate || "—");
      cell(row, money(policy.sum_insured, s.currency));
      cell(row, money(policy.cost, s.currency));
      body.appendChild(row);
    });
  }

  function poll() {
    fetch(section.dataset.stateUrl).then(function (r) { return r.json(); }).then(render).catch(function () {});
  }

  document.getElementById("ship").addEventListener("click", function () {
    fetch(section.dataset.shipUrl, { method: "POST", headers: { "X-CSRFToken": token } }).then(poll);
  });
  poll();
  setInterval(poll, 1000);
})();
