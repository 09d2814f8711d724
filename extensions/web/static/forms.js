// Progressive enhancement for forms; every form also works without JavaScript (the server
// checks everything again).
// <form data-require-all>: its submit buttons are enabled only once every checkbox marked
// data-required is ticked.
document.querySelectorAll("form[data-require-all]").forEach((form) => {
  const boxes = [...form.querySelectorAll("input[type=checkbox][data-required]")];
  const buttons = [...form.querySelectorAll("button[type=submit]")];
  const update = () => {
    const ready = boxes.every((box) => box.checked);
    buttons.forEach((button) => { button.disabled = !ready; });
  };
  boxes.forEach((box) => box.addEventListener("change", update));
  update();
});
