//! SIGTERM while clients write: `vicinity bench load --sigterm-after`
//! starts `vicinity serve`, stops it mid-load with SIGTERM, starts it again
//! on its folder and checks every acknowledged write there (the command
//! fails if one is missing or a deleted point came back).

use std::process::Command;

#[test]
fn sigterm_under_load_keeps_every_acknowledged_write() {
    let bin = env!("CARGO_BIN_EXE_vicinity");
    for protocol in ["grpc", "rest"] {
        let out = Command::new(bin)
            .args([
                "bench",
                "load",
                "--protocol",
                protocol,
                "--clients",
                "6",
                "--points",
                "400",
                "--dim",
                "16",
                "--sigterm-after",
                "1.5",
                "--mix",
                "search=30,upsert=40,payload=10,delete=20",
                "--upsert-batch",
                "4",
                "--server-binary",
                bin,
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{protocol}:\n{stdout}\n{stderr}");
        assert!(
            stdout.contains("SIGTERM under load: the server exited in"),
            "{stdout}"
        );
        // writes were acknowledged before the signal, and all are there
        let line = stdout
            .lines()
            .find(|l| l.starts_with("acknowledged points"))
            .unwrap();
        assert!(
            line.contains("(missing 0)") && line.contains("(still there 0)"),
            "{line}"
        );
        assert!(!line.starts_with("acknowledged points 0 "), "{line}");
    }
}
