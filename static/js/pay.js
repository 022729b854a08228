// The Stripe pay page: mounts Stripe's Payment Element in #payment-element and
// confirms the PaymentIntent whose client secret the server put on the form.
// Stripe redirects to data-return-url afterwards; the order turns "paid" when
// Stripe's signed webhook reaches the server, not because of this script.
(function () {
  "use strict";
  var form = document.getElementById("payment-form");
  if (!form || typeof Stripe !== "function") { return; }
  var message = document.getElementById("payment-message");
  var button = document.getElementById("pay-button");
  var lang = (document.documentElement.lang || "auto").toLowerCase().indexOf("zh") === 0 ? "zh" : "auto";

  function show(text) {
    message.textContent = text || "";
  }

  var stripe = Stripe(form.dataset.publishableKey, { locale: lang });
  var elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
  elements.create("payment").mount("#payment-element");

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    show("");
    stripe.confirmPayment({
      elements: elements,
      confirmParams: { return_url: form.dataset.returnUrl }
    }).then(function (result) {
      // Only reached when the payment could not be confirmed (no redirect happened).
      if (result.error) { show(result.error.message); }
      button.disabled = false;
    }, function () {
      show(form.dataset.networkError || "");
      button.disabled = false;
    });
  });
}());
