// The create-dataset form: add and remove label rows, each starting with a distinct colour.

const rows = document.getElementById("label-rows");
const palette = rows.dataset.palette.split(" ");

function addRow() {
  const row = rows.querySelector(".label-row").cloneNode(true);
  const [name, color] = row.querySelectorAll("input");
  name.value = "";
  color.value = palette[rows.children.length % palette.length];
  rows.append(row);
  name.focus();
}

document.getElementById("add-label").addEventListener("click", addRow);
rows.addEventListener("click", (event) => {
  if (!event.target.matches(".remove-label")) return;
  const row = event.target.closest(".label-row");
  if (rows.children.length > 1) row.remove();
  else row.querySelector("input").value = "";
});
