# workerd configuration of the suggestion worker: `workerd serve suggest.capnp` (listens on
# 127.0.0.1:8788). The files named below must sit next to this file (see suggest-worker.js).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .suggestWorker)],
  sockets = [(name = "http", address = "127.0.0.1:8788", http = (), service = "main")],
);

const suggestWorker :Workerd.Worker = (
  modules = [
    (name = "suggest-worker.js", esModule = embed "suggest-worker.js"),
    (name = "suggest.js", esModule = embed "suggest.js"),
    (name = "quire.js", esModule = embed "quire.js"),
    (name = "quire_wasm_bg.wasm", wasm = embed "quire_wasm_bg.wasm"),
    (name = "model.qcomp", data = embed "model.qcomp"),
  ],
  compatibilityDate = "2024-09-23",
);
