//! Compiles the Qdrant-compatible protocol files in `proto/` with protox (a
//! pure-Rust protoc), so no system `protoc` is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    // The root file imports the service files, which import the rest.
    let fds = protox::compile(["qdrant.proto", "health.proto"], [&dir])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .generate_default_stubs(true)
        .compile_fds(fds)?;
    println!("cargo:rerun-if-changed=../../proto");
    Ok(())
}
