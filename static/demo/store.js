/* The demo checkout: builds the cart for the widget and pays through the demo's test payment route. */
(function () {
  "use strict";
  var form = document.getElementById("checkout");
  var widget = document.getElementById("protection");
  var currency = form.dataset.currency;
  var money = new Intl.NumberFormat(document.documentElement.lang || "en", { style: "currency", currency: currency });
  var digits = money.resolvedOptions().maximumFractionDigits;
  var choice = { selected: false, quote: null, consent: null };

  function minor(text) {
    var value = Number(String(text).replace(",", "."));
    return Number.isFinite(value) && value >= 0 ? Math.round(value * Math.pow(10, digits)) : 0;
  }

  function cart() {
    var items = [];
    form.querySelectorAll("tr.line").forEach(function (row) {
      var quantity = parseInt(row.querySelector("[name=quantity]").value, 10) || 0;
      if (quantity > 0) {
        items.push({ sku: row.dataset.sku, name: row.querySelector("[name=name]").value,
                     category: row.querySelector("[name=category]").value,
                     unit_price: minor(row.querySelector("[name=price]").value), quantity: quantity });
      }
    });
    var region = document.getElementById("region").value.trim().toUpperCase();
    return { currency: currency, items: items,
             destination: { country: document.getElementById("country").value, region: region || null } };
  }

  function subtotal(current) {
    return current.items.reduce(function (sum, item) { return sum + item.unit_price * item.quantity; }, 0);
  }

  function show(amount) { return money.format(amount / Math.pow(10, digits)); }

  function refresh() {
    var current = cart();
    var protection = choice.selected && choice.quote ? choice.quote.customer_price : 0;
    document.getElementById("subtotal").textContent = show(subtotal(current));
    document.getElementById("protection-line").textContent = protection ? show(protection) : "—";
    document.getElementById("total").textContent = show(subtotal(current) + protection);
  }

  function update() { widget.cart = cart(); refresh(); }

  widget.addEventListener("shipping-protection:change", function (event) {
    choice = event.detail;
    refresh();
  });
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var status = document.getElementById("status");
    status.textContent = "Paying…";
    fetch("/demo/pay", {
      method: "POST",
      headers: { "Content-Type": "application/json",
                 "X-CSRFToken": document.querySelector("meta[name=csrf-token]").content },
      body: JSON.stringify({ subtotal: subtotal(cart()), selected: choice.selected,
                             quote: choice.quote && choice.quote.id, consent: choice.consent,
                             email: document.getElementById("email").value })
    }).then(function (response) { return response.json(); })
      .then(function (answer) {
        if (answer.url) { location.href = answer.url; } else { status.textContent = answer.error.message; }
      })
      .catch(function () { status.textContent = "The payment failed."; });
  });
  update();
})();
