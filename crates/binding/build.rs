fn main() {
    // The napi link setup is for the Node addon only; the wasm32 build has no Node to link against.
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() != Ok("wasm32") {
        napi_build::setup();
    }
}
