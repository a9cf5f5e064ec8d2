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
// Download buttons: data-download-target names the element whose text is saved as a file.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-download-target]");
  if (!button) return;
  const source = document.querySelector(button.dataset.downloadTarget);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([source.textContent], {type: "application/yaml"}));
  link.download = button.dataset.downloadName;
  link.click();
  URL.revokeObjectURL(link.href);
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
// Pod logs, follow mode: the page appends each line the server-sent event stream carries.
document.addEventListener("DOMContentLoaded", () => {
  const output = document.querySelector("[data-log-stream]");
  if (!output || !window.EventSource) return;
  const state = document.getElementById("log-stream-state");
  const source = new EventSource(output.dataset.logStream);
  const append = (text) => {
    const atBottom = output.scrollTop + output.clientHeight >= output.scrollHeight - 4;
    output.append(text + "\n");
    if (atBottom) output.scrollTop = output.scrollHeight;
  };
  source.onmessage = (event) => append(event.data);
  source.addEventListener("failure", (event) => append(event.data));
  source.addEventListener("end", (event) => {
    source.close();
    if (state) state.textContent = event.data || state.dataset.endedLabel;
    output.dataset.ended = "true";
  });
  // A refused stream (an error page instead of events) is not retried.
  source.onerror = () => {
    if (source.readyState !== EventSource.CLOSED) return;
    if (state) state.textContent = state.dataset.endedLabel;
    output.dataset.ended = "true";
  };
});
// Formsets: a button with data-formset-add="<prefix>" appends a copy of the formset's empty
// form (a <template id="<prefix>-empty">) and counts it in <prefix>-TOTAL_FORMS.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-formset-add]");
  if (!button) return;
  const prefix = button.dataset.formsetAdd;
  const total = document.getElementById(`id_${prefix}-TOTAL_FORMS`);
  const template = document.getElementById(`${prefix}-empty`);
  const list = document.getElementById(`${prefix}-list`);
  if (!total || !template || !list) return;
  const index = parseInt(total.value, 10);
  list.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__prefix__/g, index).replace(/__number__/g, index + 1));
  total.value = index + 1;
});
