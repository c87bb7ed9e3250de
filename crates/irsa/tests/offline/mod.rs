//! Shared by the offline end-to-end tests (cli.rs, policy_eval.rs): the real `irsa` binary run
//! on real files, with no sandbox.
#![allow(dead_code)] // each test crate uses a different part

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

pub fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

pub fn irsa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_irsa"))
        .args(args)
        .output()
        .expect("irsa runs")
}

pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "irsa-cli-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn core_fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../irsa-core/tests/fixtures")
        .join(name)
        .display()
        .to_string()
}
