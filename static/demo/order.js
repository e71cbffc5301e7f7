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

  // What the shopper and the merchant read: words, not the API's status codes.
  var PROTECTION = { active: "Protected", needs_review: "Paid, being checked by the store", voided: "Cancelled and refunded" };
  var POLICY = { pending: "Being insured…", retrying: "Insurer busy, trying again", bound: "Insured",
                 failed: "Could not be insured", cancelled: "Insurance cancelled" };
  var UNINSURED = { not_protected: "Not protected", protection_voided: "Protection cancelled",
                    protection_needs_review: "Waiting for the store's check", declared_value_used_up: "Already fully insured",
                    value_unknown: "Value unknown" };
  var TRACKING = { shipped: "Shipped", in_transit: "In transit", out_for_delivery: "Out for delivery",
                   delivered: "Delivered", failure: "Delivery problem", cancelled: "Cancelled" };

  function words(table, code) { return table[code] || String(code || "").replace(/_/g, " "); }

  var COLUMNS = Array.prototype.map.call(document.querySelectorAll("#order thead th"), function (th) { return th.textContent; });

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    td.dataset.label = COLUMNS[row.children.length] || ""; // the column's name, shown above the value on phones
    row.appendChild(td);
  }

  function render(state) {
    var p = state.protection;
    document.getElementById("protection-status").textContent = p ? words(PROTECTION, p.status) + (p.disputed ? " (payment disputed)" : "") : "Not protected (yet)";
    document.getElementById("protection-premium").textContent = p ? money(p.customer_price, p.currency) : "—";
    document.getElementById("protection-consent").textContent = p && p.consent ? (p.consent_verified ? "Given at checkout ✓" : "Given at checkout") : "—";
    var body = document.getElementById("parcels");
    body.replaceChildren();
    state.shipments.forEach(function (s) {
      var row = document.createElement("tr");
      var policy = s.policy || {};
      row.className = "parcel";
      row.dataset.policyStatus = policy.status || "none";
      cell(row, s.shipment_id);
      cell(row, s.carrier + " " + s.tracking_number + " · " + words(TRACKING, s.tracking_status));
      cell(row, policy.status ? words(POLICY, policy.status) : words(UNINSURED, s.uninsured_reason || "not_protected"));
      cell(row, policy.certificate || "—");
      cell(row, money(policy.sum_insured, s.currency));
      cell(row, money(policy.cost, s.currency));
      body.appendChild(row);
    });
    var ship = document.getElementById("ship");
    ship.disabled = Boolean(state.all_shipped);
    ship.textContent = state.all_shipped ? "Everything has shipped" : "Ship";
  }

  function poll() {
    fetch(section.dataset.stateUrl).then(function (r) { return r.json(); }).then(render).catch(function () {});
  }

  document.getElementById("ship").addEventListener("click", function () {
    var ship = document.getElementById("ship");
    ship.disabled = true; // one click, one parcel: wait for the answer
    fetch(section.dataset.shipUrl, { method: "POST", headers: { "X-CSRFToken": token } }).then(poll, poll);
  });
  poll();
  setInterval(poll, 1000);
})();
