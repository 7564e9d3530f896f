// tfclone studio: the page's behaviour. Plain JavaScript over the studio's own API (no framework, no CDN).
"use strict";

const $ = (id) => document.getElementById(id);
let apiKey = localStorage.getItem("tfcloneApiKey") || "";
let clipBlob = null;       // the clip to add: an upload, or a recording converted to WAV
let clipName = "clip.wav";
let selectedVoice = null;

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (apiKey) h["Authorization"] = "Bearer " + apiKey;
  return h;
}

async function api(path, options) {
  options = options || {};
  const response = await fetch(path, Object.assign({}, options, { headers: headers(options.headers) }));
  if (response.status === 401) { $("key-box").hidden = false; }
  if (!response.ok) {
    let message = response.status + " " + response.statusText;
    try { message = (await response.json()).error.message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

function status(id, text, isError) {
  $(id).textContent = text;
  $(id).classList.toggle("error", !!isError);
}

// ------------------------------------------------------------------------------------------ models
async function loadModels() {
  try {
    const model = (await (await api("/v1/models")).json()).data[0];
    const select = $("vocoder");
    select.innerHTML = "";
    for (const name of model.vocoders) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name + (name === model.default_vocoder ? " (default)" : "");
      option.selected = name === model.default_vocoder;
      select.appendChild(option);
    }
    $("server-info").textContent = "Speech at " + model.sample_rate + " Hz; vocoders: " + model.vocoders.join(", ");
  } catch (e) {
    $("server-info").textContent = "Models: " + e.message;
  }
}

// ------------------------------------------------------------------------------------------ voices
async function loadVoices() {
  const voices = (await (await api("/v1/voices")).json()).data;
  const list = $("voices");
  list.innerHTML = "";
  if (!voices.length) { list.innerHTML = "<li class='muted'>No voices yet: add one above.</li>"; }
  if (!voices.some((v) => v.id === selectedVoice)) { selectedVoice = voices.length ? voices[voices.length - 1].id : null; }
  for (const voice of voices) {
    const item = document.createElement("li");
    const radio = document.createElement("input");
    radio.type = "radio"; radio.name = "voice"; radio.value = voice.id; radio.checked = voice.id === selectedVoice;
    radio.id = "voice-" + voice.id;
    radio.addEventListener("change", () => { selectedVoice = voice.id; drawMap(); });
    const label = document.createElement("label");
    label.htmlFor = radio.id;
    label.textContent = voice.name + " (" + voice.seconds.toFixed(1) + " s)";
    const play = document.createElement("button");
    play.textContent = "Play clip";
    play.addEventListener("click", async () => {
      const blob = await (await api("/v1/voices/" + voice.id + "/audio")).blob();
      new Audio(URL.createObjectURL(blob)).play();
    });
    const remove = document.createElement("button");
    remove.textContent = "Delete";
    remove.addEventListener("click", async () => {
      if (!confirm("Delete the voice " + voice.name + "?")) return;
      await api("/v1/voices/" + voice.id, { method: "DELETE" });
      await loadVoices();
    });
    item.append(radio, label, play, remove);
    list.appendChild(item);
  }
  await drawMap();
}

async function drawMap() {
  const points = (await (await api("/v1/voices/map")).json()).data;
  const svg = $("voice-map");
  svg.innerHTML = "";
  const scale = Math.max(1e-6, ...points.map((p) => Math.max(Math.abs(p.x), Math.abs(p.y))));
  const ns = "http://www.w3.org/2000/svg";
  for (const p of points) {
    const x = p.x / scale, y = -p.y / scale;
    const dot = document.createElementNS(ns, "circle");
    dot.setAttribute("cx", x); dot.setAttribute("cy", y); dot.setAttribute("r", 0.05);
    dot.setAttribute("fill", p.id === selectedVoice ? "#b00020" : "#3060c0");
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", x + 0.07); label.setAttribute("y", y + 0.03);
    label.textContent = p.name;
    svg.append(dot, label);
  }
}

// Recording: MediaRecorder gives webm/ogg, which libsndfile may not read; decode it in the browser and
// send 16-bit WAV.
function wavBlob(samples, rate) {
  const buffer = new ArrayBuffer(44 + samples.length * 2);
  const view = new DataView(buffer);
  const text = (offset, s) => { for (let i = 0; i < s.length; i++) view.setUint8(offset + i, s.charCodeAt(i)); };
  text(0, "RIFF"); view.setUint32(4, 36 + samples.length * 2, true); text(8, "WAVE"); text(12, "fmt ");
  view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true); view.setUint16(32, 2, true);
  view.setUint16(34, 16, true); text(36, "data"); view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(44 + i * 2, s * 32767, true);
  }
  return new Blob([buffer], { type: "audio/wav" });
}

let recorder = null;
async function toggleRecording() {
  if (recorder && recorder.state === "recording") { recorder.stop(); return; }
  let stream;
  try { stream = await navigator.mediaDevices.getUserMedia({ audio: true }); } catch (e) {
    status("add-status", "No microphone: " + e.message + " (upload a clip instead)", true); return;
  }
  const chunks = [];
  recorder = new MediaRecorder(stream);
  recorder.ondataavailable = (event) => chunks.push(event.data);
  recorder.onstop = async () => {
    stream.getTracks().forEach((t) => t.stop());
    $("record").textContent = "Record"; $("record").classList.remove("recording");
    const context = new AudioContext();
    const audio = await context.decodeAudioData(await new Blob(chunks).arrayBuffer());
    setClip(wavBlob(audio.getChannelData(0), audio.sampleRate), "recording.wav");
    status("record-status", "Recorded " + audio.duration.toFixed(1) + " s");
  };
  recorder.start();
  $("record").textContent = "Stop"; $("record").classList.add("recording");
  status("record-status", "Recording... speak a few sentences");
}

function setClip(blob, name) {
  clipBlob = blob; clipName = name;
  $("clip-preview").src = URL.createObjectURL(blob);
  $("clip-preview").hidden = false;
}

async function addVoice() {
  const name = $("voice-name").value.trim();
  if (!clipBlob) { status("add-status", "Record or choose a clip first.", true); return; }
  if (!name) { status("add-status", "Give the voice a name.", true); return; }
  const form = new FormData();
  form.append("file", clipBlob, clipName);
  form.append("name", name);
  status("add-status", "Embedding the voice...");
  try {
    const voice = await (await api("/v1/voices", { method: "POST", body: form })).json();
    selectedVoice = voice.id;
    status("add-status", "Added " + voice.name + " (" + voice.seconds.toFixed(1) + " s after trimming silence).");
    await loadVoices();
  } catch (e) { status("add-status", e.message, true); }
}

// ------------------------------------------------------------------------------------------ speech
async function showPicture(id, url) {
  const blob = await (await api(url)).blob();
  $(id).src = URL.createObjectURL(blob);
  $(id).hidden = false;
}

async function synthesize() {
  if (!selectedVoice) { status("speak-status", "Add and pick a voice first.", true); return; }
  const body = { model: "tfclone", input: $("text").value, voice: selectedVoice, response_format: "wav",
                 stream: true, vocoder: $("vocoder").value || undefined };
  $("synthesize").disabled = true;
  status("speak-status", "Synthesizing...");
  $("progress").hidden = false; $("progress").value = 0;
  let poll = null;
  try {
    const response = await api("/v1/audio/speech", { method: "POST", body: JSON.stringify(body),
                                                     headers: { "Content-Type": "application/json" } });
    const sid = response.headers.get("X-Tfclone-Synthesis");
    const rate = Number(response.headers.get("X-Sample-Rate"));
    const total = Number(response.headers.get("X-Tfclone-Sentences"));
    $("progress").max = total;
    poll = setInterval(async () => {
      try {
        const p = await (await api("/v1/syntheses/" + sid)).json();
        $("progress").value = p.done; $("progress-text").textContent = p.done + " / " + p.sentences + " sentences";
      } catch (e) { /* the next poll will tell */ }
    }, 300);
    // Streamed WAV: a header of unknown length, then 16-bit samples; rebuilt as a WAV of known length.
    const reader = response.body.getReader();
    const parts = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value); size += value.length;
    }
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const part of parts) { bytes.set(part, offset); offset += part.length; }
    const pcm = new Int16Array(bytes.buffer.slice(44, 44 + Math.floor((size - 44) / 2) * 2));
    const samples = Float32Array.from(pcm, (s) => s / 32768);
    const wav = wavBlob(samples, rate);
    const url = URL.createObjectURL(wav);
    $("result").src = url; $("result").hidden = false;
    $("download").href = url; $("download").hidden = false;
    $("progress").value = total; $("progress-text").textContent = total + " / " + total + " sentences";
    status("speak-status", "Done: " + (samples.length / rate).toFixed(2) + " s of speech.");
    $("result").dataset.seconds = (samples.length / rate).toFixed(3);
    await Promise.all([showPicture("mel", "/v1/syntheses/" + sid + "/mel.png"),
                       showPicture("alignment", "/v1/syntheses/" + sid + "/alignment.png")]);
  } catch (e) {
    status("speak-status", e.message, true);
  } finally {
    if (poll) clearInterval(poll);
    $("synthesize").disabled = false;
  }
}

// ------------------------------------------------------------------------------------------ wiring
$("record").addEventListener("click", toggleRecording);
$("clip-file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (file) { setClip(file, file.name); if (!$("voice-name").value) $("voice-name").value = file.name.replace(/\.[^.]+$/, ""); }
});
$("add").addEventListener("click", addVoice);
$("synthesize").addEventListener("click", synthesize);
$("key-save").addEventListener("click", () => {
  apiKey = $("api-key").value.trim(); localStorage.setItem("tfcloneApiKey", apiKey);
  $("key-box").hidden = true; start();
});

async function start() {
  await loadModels();
  try { await loadVoices(); } catch (e) { status("add-status", e.message, true); }
}
start();
