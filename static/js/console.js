// Selects marked data-autosubmit (region, language) submit their form on change.
document.addEventListener("change", (event) => {
  const select = event.target.closest("[data-autosubmit]");
  if (select) select.form.submit();
});
// Copy buttons: data-copy-target names the element whose text is copied.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copyTarget);
  navigator.clipboard.writeText(source.textContent).then(() => {
    button.textContent = button.dataset.copiedLabel || button.textContent;
  });
});
// Order form: choosing a VPC reloads the form so subnets and security groups follow it.
document.addEventListener("change", (event) => {
  const field = event.target.closest("[data-reload]");
  if (!field) return;
  const step = field.form.querySelector("#order-step-field");
  if (step) step.value = "reload";
  field.form.requestSubmit();
});
// Inline confirmations: forms with data-confirm ask before submitting.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
}, true);
