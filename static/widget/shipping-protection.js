/*! Shipping protection widget. One tag:
 *  <script src="https://HOST/static/widget/shipping-protection.js" data-key="pk_…" defer></script>
 *  <shipping-protection></shipping-protection>
 * The page sets element.cart = {currency, destination, items} and listens for "shipping-protection:change"
 * ({selected, quote, consent}). Never pre-selected; silent (one console warning) when the API is slow or down;
 * a cart the API refuses (422) logs a console error naming the refused fields. Its words come with each quote
 * (offer.texts, from the server's catalogues, in the language asked by `locale`).
 * <shipping-protection-badge data-locale="zh-CN"></shipping-protection-badge> (product and cart pages): the
 * shop's enabled coverages and a terms link, worded by GET /api/v1/badge; nothing at all when it fails. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.customElements || customElements.get("shipping-protection")) return;
  var KEY = script.getAttribute("data-key") || "";
  var API = (script.getAttribute("data-api") || new URL(script.src, location.href).origin).replace(/\/$/, "");
  var TIMEOUT_MS = 3000;
  var DEBOUNCE_MS = 200;
  var CSS =
    ":host{display:block!important;visibility:visible!important;opacity:1!important;contain:content}" +
    ".box{all:initial;display:flex!important;gap:.75em;align-items:flex-start;box-sizing:border-box;width:100%;" +
    "padding:.85em 1em;border:1px solid var(--sp-border,#8a8f98);border-radius:var(--sp-radius,8px);" +
    "background:var(--sp-background,#fff);color:var(--sp-text,#1b1f24);font:var(--sp-font-size,15px)/1.45 " +
    "var(--sp-font,system-ui,-apple-system,'Segoe UI',Roboto,sans-serif)}" +
    "input{all:revert;flex:none;margin:.2em 0 0;width:1.15em;height:1.15em;accent-color:var(--sp-accent,#0b57d0);" +
    "cursor:pointer}" +
    "input.switch{appearance:none;width:2.3em;height:1.3em;border-radius:1em;background:#6b7280;position:relative;" +
    "transition:background .15s}input.switch::after{content:'';position:absolute;top:.15em;left:.15em;width:1em;" +
    "height:1em;border-radius:50%;background:#fff;transition:left .15s}input.switch:checked{background:" +
    "var(--sp-accent,#0b57d0)}input.switch:checked::after{left:1.15em}" +
    "input:focus-visible{outline:3px solid var(--sp-focus,#0b57d0);outline-offset:2px}" +
    "label{all:unset;display:block;flex:1;cursor:pointer}.row{display:flex;justify-content:space-between;gap:1em}" +
    ".title{font-weight:600}.price{font-weight:600;white-space:nowrap}" +
    ".desc{display:block;margin-top:.2em;color:var(--sp-muted,#4b5563);font-size:.9em}" +
    "a{color:var(--sp-link,#0b57d0);text-decoration:underline;font-size:.9em}" +
    ".note{display:block;margin-top:.4em;font-size:.9em;font-weight:600;color:var(--sp-text,#1b1f24)}" +
    ".sr{position:absolute!important;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    ".box[hidden],[hidden]{display:none!important}"; // last, and as specific as .box: hidden wins

  var refusals = {};
  function refused(body) {
    // A 422 is the store's mistake, not an outage: name the refused fields so its developer can fix the cart.
    var fields = (body && body.error && body.error.fields) || {};
    var names = Object.keys(fields);
    var detail = names.map(function (name) { return name + " (" + [].concat(fields[name]).join(" ") + ")"; }).join("; ");
    var message = "[shipping-protection] offer hidden: the API refused the cart: " + (detail || (body && body.error && body.error.message) || "422");
    if (refusals[message]) return; // once per distinct refusal, not once per keystroke
    refusals[message] = true;
    try { console.error(message); } catch (e) { /* no console */ }
  }

  var warned = false;
  function warn(message, error) {
    if (warned) return; // one warning per page, however often the API fails
    warned = true;
    try { console.warn("[shipping-protection] " + message, error && error.message ? error.message : error || ""); } catch (e) { /* no console */ }
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function fill(template, price) { return (template || "").replace("{price}", price); }

  class ShippingProtection extends HTMLElement {
    static get observedAttributes() { return ["variant", "lang", "heading", "description", "accent-color"]; }

    constructor() {
      super();
      var self = this;
      this._version = 0;
      this._busy = false;
      this._again = false;
      this._quote = null;
      this._consent = null;
      var root = this.attachShadow({ mode: "open" });
      var style = el("style");
      style.textContent = CSS;
      this._box = el("div", "box");
      this._box.hidden = true;
      this._input = el("input");
      this._input.type = "checkbox";
      this._input.id = "sp-choice";
      this._label = el("label");
      this._label.htmlFor = "sp-choice";
      var row = el("span", "row");
      this._title = el("span", "title");
      this._price = el("span", "price");
      row.append(this._title, this._price);
      this._desc = el("span", "desc");
      this._label.append(row, this._desc);
      this._terms = el("a");
      this._terms.target = "_blank";
      this._terms.rel = "noopener noreferrer";
      this._note = el("span", "note");
      this._note.hidden = true;
      var text = el("div");
      text.style.flex = "1";
      text.append(this._label, this._terms, this._note);
      this._live = el("span", "sr");
      this._live.setAttribute("aria-live", "polite");
      this._box.append(this._input, text);
      root.append(style, this._box, this._live);
      this._input.addEventListener("change", function () { self._choose(self._input.checked); });
    }

    get cart() { return this._cart; }

    set cart(cart) {
      var self = this;
      this._cart = cart;
      this._version++;
      clearTimeout(this._timer);
      this._timer = setTimeout(function () { self._request(); }, DEBOUNCE_MS);
    }

    get quote() { return this._quote; }

    get selected() { return this._input.checked; }
  }

  var proto = ShippingProtection.prototype;
  proto.attributeChangedCallback = function (name) {
    if (name === "lang" && this._cart) this.cart = this._cart; // the words come with the quote: ask again
    else if (this._quote) this._render(this._quote);
  };

  proto._lang = function () {
    return this.getAttribute("lang") || document.documentElement.lang || navigator.language || "en";
  };

  // The words of the quote's offer, in the language the API answered in.
  function texts(quote) { return (quote && quote.offer && quote.offer.texts) || {}; }

  proto._format = function (amount, currency) {
    var lang = this._lang();
    try {
      var format = new Intl.NumberFormat(lang, { style: "currency", currency: currency });
      var digits = format.resolvedOptions().maximumFractionDigits;
      return format.format(amount / Math.pow(10, digits));
    } catch (e) {
      return amount + " " + currency;
    }
  };

  proto._request = function () {
    if (this._busy) { this._again = true; return; } // at most one request in flight
    var cart = this._cart;
    if (!cart || !KEY) return this._hide();
    var self = this;
    var version = this._version;
    var controller = window.AbortController ? new AbortController() : null;
    var timer = setTimeout(function () { if (controller) controller.abort(); }, TIMEOUT_MS);
    this._busy = true;
    var body = JSON.stringify(Object.assign({}, cart, { locale: this._lang() }));
    fetch(API + "/api/v1/quotes", {
      method: "POST",
      headers: { Authorization: "Bearer " + KEY, "Content-Type": "application/json" },
      body: body,
      credentials: "omit",
      signal: controller ? controller.signal : undefined
    })
      .then(function (response) {
        if (response.status === 422) {
          return response.json().catch(function () { return null; }).then(function (body) {
            var error = new Error("HTTP 422");
            error.body = body;
            error.refused = true;
            throw error;
          });
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (quote) {
        if (version === self._version) self._render(quote); // a stale answer is dropped
      })
      .catch(function (error) {
        if (error && error.refused) refused(error.body);
        else warn("offer hidden: the quote service is slow or unavailable", error);
        self._hide();
      })
      .then(function () {
        clearTimeout(timer);
        self._busy = false;
        if (self._again || version !== self._version) { self._again = false; self._request(); }
      });
  };

  proto._render = function (quote) {
    var previous = this._quote;
    if (!quote || !quote.eligible || !quote.id) return this._hide();
    this._quote = quote;
    var price = this._format(quote.customer_price, quote.currency);
    var offer = quote.offer || {};
    var t = texts(quote);
    var toggle = this.getAttribute("variant") === "toggle";
    this._input.className = toggle ? "switch" : "";
    if (toggle) this._input.setAttribute("role", "switch"); else this._input.removeAttribute("role");
    var accent = this.getAttribute("accent-color");
    if (accent) this.style.setProperty("--sp-accent", accent);
    // A merchant's own offer texts are written in one language: other languages get the built-in ones.
    var localized = offer.language && offer.language !== "en";
    this._title.textContent = this.getAttribute("heading") || (localized && t.title) || offer.title || t.title || "";
    this._desc.textContent = this.getAttribute("description") || (localized && t.description) || offer.description || t.description || "";
    this._price.textContent = price;
    this._terms.textContent = t.terms || "";
    if (offer.terms_url && t.terms) { this._terms.href = offer.terms_url; this._terms.hidden = false; } else { this._terms.hidden = true; }
    this._box.hidden = false;
    if (this._input.checked && previous && previous.customer_price !== quote.customer_price) {
      // Consent was given to another price: ask again rather than charge what was not agreed to.
      this._input.checked = false;
      this._consent = null;
      this._note.textContent = fill(t.changed, price); // shown, not only announced: the box the shopper ticked is now empty
      this._note.hidden = false;
      this._announce(this._note.textContent);
      this._emit(false);
    } else if (!previous || previous.customer_price !== quote.customer_price) {
      this._announce(fill(t.price, price));
    }
  };

  proto._hide = function () {
    this._box.hidden = true;
    this._note.hidden = true;
    var wasSelected = this._input.checked;
    this._input.checked = false;
    this._quote = null;
    this._consent = null;
    if (wasSelected) this._emit(false);
  };

  proto._announce = function (message) { this._live.textContent = message; };

  proto._emit = function (selected) {
    try {
      this.dispatchEvent(new CustomEvent("shipping-protection:change", {
        bubbles: true,
        composed: true,
        detail: { selected: selected, quote: this._quote, consent: selected ? this._consent : null }
      }));
    } catch (e) { warn("a change listener failed", e); }
  };

  proto._choose = function (selected) {
    var self = this;
    var quote = this._quote;
    var t = texts(quote);
    if (!quote) return;
    this._note.hidden = true; // the shopper has seen the new price and chosen again
    if (!selected) {
      this._consent = null;
      this._announce(t.removed || "");
      return this._emit(false);
    }
    var price = this._format(quote.customer_price, quote.currency);
    this._announce(fill(t.added, price));
    var shown = [this._title.textContent, price, this._desc.textContent].join(" — ");
    fetch(API + "/api/v1/consents", {
      method: "POST",
      headers: { Authorization: "Bearer " + KEY, "Content-Type": "application/json" },
      credentials: "omit",
      body: JSON.stringify({
        quote: quote.id,
        price_shown: quote.customer_price,
        currency: quote.currency,
        text_shown: shown,
        terms_version: (quote.offer && quote.offer.terms_version) || "1",
        terms_url: (quote.offer && quote.offer.terms_url) || null,
        locale: this._lang(),
        shown_at: new Date().toISOString()
      })
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .catch(function (error) { warn("consent not recorded", error); return null; })
      .then(function (consent) {
        if (self._quote !== quote || !self._input.checked) return; // the shopper moved on meanwhile
        self._consent = consent && consent.id ? consent.id : null;
        self._emit(true);
      });
  };

  customElements.define("shipping-protection", ShippingProtection);

  var BADGE_CSS =
    ":host{display:block;contain:content}ul{all:initial;display:flex;flex-wrap:wrap;gap:.3em 1em;margin:0;padding:0;" +
    "list-style:none;font:var(--sp-font-size,14px)/1.4 var(--sp-font,system-ui,-apple-system,'Segoe UI',Roboto," +
    "sans-serif);color:var(--sp-text,#1b1f24)}li{display:flex;gap:.35em;overflow-wrap:anywhere}li::before{content:" +
    "'\\2713'/'';color:var(--sp-accent,#0b57d0);font-weight:700}a{display:inline-block;margin-top:.25em;font:" +
    "var(--sp-font-size,14px)/1.4 var(--sp-font,system-ui,sans-serif);color:var(--sp-link,#0b57d0)}";

  class ShippingProtectionBadge extends HTMLElement {
    static get observedAttributes() { return ["data-locale"]; }
    constructor() { super(); this.attachShadow({ mode: "open" }); }
    connectedCallback() { this._load(); }
    attributeChangedCallback() { if (this.isConnected) this._load(); }
  }

  var badge = ShippingProtectionBadge.prototype;
  badge._load = function () {
    var self = this;
    var lang = this.getAttribute("data-locale") || document.documentElement.lang || navigator.language || "en";
    if (!KEY || lang === this._asked) return; // connecting and the first attribute both ask: once is enough
    this._asked = lang;
    var controller = window.AbortController ? new AbortController() : null;
    var timer = setTimeout(function () { if (controller) controller.abort(); }, TIMEOUT_MS);
    fetch(API + "/api/v1/badge?locale=" + encodeURIComponent(lang), {
      headers: { Authorization: "Bearer " + KEY },
      credentials: "omit",
      signal: controller ? controller.signal : undefined
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .catch(function (error) { warn("badge hidden: the badge service is slow or unavailable", error); return null; })
      .then(function (answer) {
        clearTimeout(timer);
        if (lang === self._asked) self._render(answer); // an answer for a language since replaced is dropped
      });
  };

  badge._render = function (answer) {
    var root = this.shadowRoot;
    var items = (answer && answer.items) || [];
    root.replaceChildren();
    if (!items.length) return; // no coverage enabled, or no answer: nothing at all
    var style = el("style");
    style.textContent = BADGE_CSS;
    var list = el("ul");
    list.setAttribute("role", "list"); // Safari drops a list's role when its bullets are styled away
    if (answer.label) list.setAttribute("aria-label", answer.label);
    items.forEach(function (item) { list.append(el("li", item.coverage, item.text)); });
    root.append(style, list);
    if (answer.terms_label && /^https?:/i.test(answer.terms_url || "")) {
      var terms = el("a", "", answer.terms_label);
      terms.href = answer.terms_url;
      terms.target = "_blank";
      terms.rel = "noopener noreferrer";
      root.append(terms);
    }
  };

  customElements.define("shipping-protection-badge", ShippingProtectionBadge);
})();
