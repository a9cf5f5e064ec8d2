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
