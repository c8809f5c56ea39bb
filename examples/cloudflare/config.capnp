# workerd configuration of the example worker: `workerd serve config.capnp` (listens on
# 127.0.0.1:8787). The files named below must sit next to this file (see worker.js).
# Tested compatibility dates: see the README ("Browsers and edge runtimes").
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .quireWorker)],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);

const quireWorker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "greedy.js", esModule = embed "greedy.js"),
    (name = "quire.js", esModule = embed "quire.js"),
    (name = "quire_wasm_bg.wasm", wasm = embed "quire_wasm_bg.wasm"),
    (name = "model.qcomp", data = embed "model.qcomp"),
  ],
  compatibilityDate = "2024-09-23",
);
