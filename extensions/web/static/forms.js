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

// A password confirmation says at once when it differs (the server says it too, beside the
// field, with the form's other errors).
document.querySelectorAll("input[name=password_confirmation]").forEach((confirmation) => {
  const password = confirmation.form && confirmation.form.querySelector("input[name=password]");
  if (!password) return;
  const check = () => {
    const differs = confirmation.value !== "" && confirmation.value !== password.value;
    confirmation.setCustomValidity(differs ? "Les deux mots de passe ne sont pas identiques." : "");
  };
  confirmation.addEventListener("input", check);
  password.addEventListener("input", check);
});
