// The new-request form: lines added and removed in place, amounts and total computed as you type;
// every form with data-progress shows that it is working and cannot be sent twice.
(function () {
  "use strict";
  function parse(text, de) {
    // German: "." groups and "," is the decimal comma ("1.249,75"); English: "," groups ("1,249.75")
    var t = String(text || "").trim().replace(/\s/g, "");
    if (de) { t = t.replace(/\./g, "").replace(",", "."); }
    else if (t.indexOf(".") < 0 && /,\d{1,2}$/.test(t)) { t = t.replace(",", "."); }
    else { t = t.replace(/,/g, ""); }
    var n = Number(t);
    return isFinite(n) ? n : NaN;
  }
  function recompute(table) {
    var de = table.getAttribute("data-locale") === "de";
    var locale = de ? "de-DE" : "en-GB";
    var currency = (document.getElementById("f-currency") || {}).value || "EUR";
    var fmt = new Intl.NumberFormat(locale, { style: "currency", currency: currency });
    var total = 0;
    table.querySelectorAll("tr[data-line]").forEach(function (row) {
      var q = parse(row.querySelector("[name=line_quantity]").value, de);
      var p = parse(row.querySelector("[name=line_unit_price]").value, de);
      var cell = row.querySelector("[data-amount]");
      if (isNaN(q) || isNaN(p)) { cell.textContent = "–"; return; }
      total += q * p;
      cell.textContent = fmt.format(q * p);
    });
    table.querySelector("[data-total]").textContent = fmt.format(total);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table[data-lines]").forEach(function (table) {
      var body = table.querySelector("tbody");
      table.addEventListener("input", function () { recompute(table); });
      var cur = document.getElementById("f-currency");
      if (cur) cur.addEventListener("change", function () { recompute(table); });
      table.addEventListener("click", function (e) {
        var target = e.target;
        if (target.hasAttribute("data-add-line")) {
          var row = body.querySelector("tr[data-line]").cloneNode(true);
          row.querySelectorAll("input").forEach(function (i) { i.value = i.name === "line_unit" ? "pcs" : (i.name === "line_quantity" ? "1" : ""); });
          row.querySelectorAll(".error").forEach(function (p) { p.remove(); });
          body.appendChild(row);
          row.querySelector("input").focus();
          recompute(table);
        } else if (target.hasAttribute("data-remove-line")) {
          if (body.querySelectorAll("tr[data-line]").length > 1) { target.closest("tr").remove(); recompute(table); }
        }
      });
      recompute(table);
    });
    document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
      s.addEventListener("change", function () { s.form.submit(); });
    });
    document.querySelectorAll("form[data-progress]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (form.dataset.sent) { e.preventDefault(); return; }
        form.dataset.sent = "1";
        var submitter = e.submitter;
        if (submitter && submitter.name) {
          var keep = document.createElement("input");
          keep.type = "hidden"; keep.name = submitter.name; keep.value = submitter.value; form.appendChild(keep);
        }
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; b.setAttribute("aria-busy", "true"); });
        var p = form.querySelector(".progress");
        if (p) p.textContent = document.documentElement.lang === "de" ? "Einen Moment…" : "Working…";
      });
    });
  });
})();
