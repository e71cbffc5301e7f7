/* The demo checkout: builds the cart for the widget and pays through the demo's test payment route. */
(function () {
  "use strict";
  var form = document.getElementById("checkout");
  var widget = document.getElementById("protection");
  var currency = form.dataset.currency;
  var money = new Intl.NumberFormat(document.documentElement.lang || "en", { style: "currency", currency: currency });
  var digits = money.resolvedOptions().maximumFractionDigits;
  var choice = { selected: false, quote: null, consent: null };

  // A typed price as minor units, read from its digits (no floats): "1,200.00" and "1200" are 120000 cents,
  // "12,5" is 1250; anything else (two decimal marks, too many decimals, letters) is null, never 0.
  function minor(text) {
    var value = String(text).trim().replace(/\s/g, "");
    var match = /^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$/.exec(value) || /^(\d+),(\d{1,2})$/.exec(value);
    if (!match) return null;
    var fraction = match[2] || "";
    if (fraction.length > digits) return null;
    while (fraction.length < digits) fraction += "0";
    var amount = Number(match[1].replace(/,/g, "") + fraction);
    return Number.isSafeInteger(amount) ? amount : null;
  }

  var example = money.format(1200);

  function cart() {
    var items = [];
    var invalid = [];
    form.querySelectorAll("tr.line").forEach(function (row) {
      var quantity = parseInt(row.querySelector("[name=quantity]").value, 10) || 0;
      var input = row.querySelector("[name=price]");
      var price = minor(input.value);
      input.setAttribute("aria-invalid", price === null ? "true" : "false");
      if (price === null) invalid.push(row.querySelector("[name=name]").value || row.dataset.sku);
      if (quantity > 0 && price !== null) {
        items.push({ sku: row.dataset.sku, name: row.querySelector("[name=name]").value,
                     category: row.querySelector("[name=category]").value,
                     unit_price: price, quantity: quantity });
      }
    });
    var problem = document.getElementById("price-problem");
    problem.textContent = invalid.length ? "Check the price of " + invalid.join(", ") + ": type it like " +
      example.replace(/[^\d.,]/g, "") + "." : "";
    problem.hidden = !invalid.length;
    document.getElementById("pay").disabled = invalid.length > 0;
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

  function update() {
    var current = cart();
    if (document.getElementById("pay").disabled) return; // a price we cannot read is not quoted as 0
    widget.cart = current;
    refresh();
  }

  widget.addEventListener("shipping-protection:change", function (event) {
    choice = event.detail;
    refresh();
  });
  function edited(event) {
    if (event.target === widget) return; // the shopper's choice in the widget (a composed input event) is not a cart change
    update();
  }
  form.addEventListener("input", edited);
  form.addEventListener("change", edited);
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
