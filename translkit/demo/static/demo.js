// translkit demo page: pick or drop images, POST each to api/translate/<direction>,
// show input and output side by side at the input's size. No network but this server.
"use strict";

const state = { info: null, queue: Promise.resolve(), count: 0 };
const $ = (id) => document.getElementById(id);

function element(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child);
  return node;
}

function directionLabel(direction) {
  return { a2b: "A → B (a2b)", b2a: "B → A (b2a)" }[direction] || direction;
}

function describeGenerator(model) {
  const options = Object.entries(model.generator_options || {})
    .map(([key, value]) => `${key}=${value}`)
    .join(", ");
  const name = String(model.generator ?? "—");
  return options ? [name, element("span", { className: "options", textContent: options })] : [name];
}

function renderModel(model) {
  const rows = [
    ["model", model.name],
    ["method", model.method],
    ["generator", describeGenerator(model)],
    ["epoch", model.epoch ?? "—"],
    ["weights", model.weights],
    ["checkpoint", model.checkpoint],
    ["device", model.device],
    ["precision", model.precision],
    ["input", model.resize ? `scaled down to a shorter side of ${model.resize} px` : "each image at its own size"],
    ["tiles", model.tile ? `${model.tile} px, ${model.overlap} px overlap` : "whole images"],
  ];
  $("model").replaceChildren(
    ...rows.flatMap(([key, value]) => [
      element("dt", { textContent: key }),
      element("dd", {}, Array.isArray(value) ? value : [String(value ?? "—")]),
    ]),
  );
}

function renderExamples() {
  const direction = $("direction").value;
  const count = state.info.examples[direction] || 0;
  const buttons = [];
  for (let i = 0; i < count; i++) {
    const url = `api/examples/${direction}/${i}`;
    const img = element("img", { src: url, alt: `example ${i + 1}` });
    const button = element("button", { className: "example", type: "button", title: "translate" }, [img]);
    button.addEventListener("click", async () => {
      const response = await fetch(url);
      enqueue(await response.blob(), `example-${direction}-${i + 1}.png`);
    });
    buttons.push(button);
  }
  $("examples").replaceChildren(...buttons);
  $("examples-box").hidden = count === 0;
}

function showError(name, message) {
  const item = element("li", {}, [element("strong", { textContent: name }), `: ${message}`]);
  $("errors").append(item);
}

function stem(name) {
  const dot = name.lastIndexOf(".");
  return (dot > 0 ? name.slice(0, dot) : name).replace(/[^\w.-]+/g, "_") || "image";
}

function makePair(blob, name, direction) {
  const input = element("img", { src: URL.createObjectURL(blob), alt: `input ${name}` });
  const output = element("img", { alt: `translated ${name}` });
  const status = element("span", { className: "status", textContent: "waiting…" });
  const download = element("a", { className: "download", textContent: "download", hidden: true });
  const pair = element("article", { className: "pair" }, [
    element("h3", {}, [name, " ", download, status]),
    element("div", { className: "images" }, [
      element("figure", { className: "input" }, [input, element("figcaption", { textContent: "input" })]),
      element("figure", { className: "output" }, [output, element("figcaption", { textContent: directionLabel(direction) })]),
    ]),
  ]);
  $("results").prepend(pair);
  return { pair, input, output, status, download };
}

// A model that scales photos down (its input size, --resize) returns a smaller image:
// shown at the input's width so the two compare side by side; the caption says so.
function showAtInputSize(view) {
  const { input, output } = view;
  if (!input.naturalWidth || output.naturalWidth >= input.naturalWidth) return;
  output.style.width = `${input.naturalWidth}px`;
  const caption = output.nextElementSibling;
  caption.textContent += ` · ${output.naturalWidth}×${output.naturalHeight} px, shown enlarged`;
}

async function errorMessage(response) {
  try {
    return (await response.json()).error || `HTTP ${response.status}`;
  } catch {
    return `the server answered HTTP ${response.status}`;
  }
}

async function translateOne(blob, name) {
  const direction = $("direction").value;
  const limit = state.info.limits.max_bytes;
  if (blob.size > limit) {
    showError(name, `larger than the demo's limit of ${(limit / 2 ** 20).toFixed(1)} MiB`);
    return;
  }
  const view = makePair(blob, name, direction);
  view.status.textContent = "translating…";
  let response;
  try {
    response = await fetch(`api/translate/${direction}`, {
      method: "POST",
      body: blob,
      headers: { "Content-Type": blob.type || "application/octet-stream" },
    });
  } catch {
    view.pair.remove();
    showError(name, "the demo server did not answer (is it still running?)");
    return;
  }
  if (!response.ok) {
    view.pair.remove();
    showError(name, await errorMessage(response));
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  view.output.addEventListener("load", () => showAtInputSize(view), { once: true });
  view.output.src = url;
  view.download.href = url;
  view.download.download = `${stem(name)}-${direction}.png`;
  view.download.hidden = false;
  const seconds = Number(response.headers.get("X-Translkit-Seconds") || 0);
  view.status.textContent = `${response.headers.get("X-Translkit-Size")} · ${seconds.toFixed(2)} s`;
  view.pair.classList.add("done");
}

function enqueue(blob, name) {
  state.queue = state.queue.then(() => translateOne(blob, name)).catch((err) => showError(name, String(err)));
}

function enqueueFiles(files) {
  for (const file of files) enqueue(file, file.name);
}

function wireInputs() {
  const drop = $("drop");
  $("file").addEventListener("change", (event) => {
    enqueueFiles(event.target.files);
    event.target.value = "";
  });
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    enqueueFiles(event.dataTransfer.files);
  });
  $("direction").addEventListener("change", renderExamples);
}

async function start() {
  const response = await fetch("api/info");
  if (!response.ok) {
    showError("demo", await errorMessage(response));
    return;
  }
  state.info = await response.json();
  renderModel(state.info.model);
  $("direction").replaceChildren(
    ...state.info.model.directions.map((d) => element("option", { value: d, textContent: directionLabel(d) })),
  );
  const { max_bytes: bytes, max_pixels: pixels } = state.info.limits;
  $("limits").textContent = `Up to ${(bytes / 2 ** 20).toFixed(0)} MiB and ${(pixels / 1e6).toFixed(1)} megapixels per image; results are PNG.`;
  renderExamples();
  wireInputs();
  document.body.dataset.ready = "true";
}

start().catch((err) => showError("demo", String(err)));
