//! Test support: runs a Python snippet with the real boto3 of moto's virtual environment (see
//! [`crate::moto`]), so that the fakes are checked with a real AWS client as well as over plain
//! HTTP. The snippet reads its endpoints from the environment given and prints one JSON value.

use std::process::Command;

use serde_json::Value;

/// Runs `script` (Python, with `boto3` and `json` imported, `err(e)` turning a ClientError into
/// `{"error": code, "status": http status}`) with `env`; answers what it printed as JSON.
pub fn run<K: AsRef<str>>(script: &str, env: &[(K, String)]) -> Value {
    let python = crate::moto::default_venv().join("bin").join("python");
    let prelude = "import boto3, json, botocore\n\
        def err(e):\n    \
            return {'error': e.response['Error']['Code'], 'status': e.response['ResponseMetadata']['HTTPStatusCode'], 'message': e.response['Error'].get('Message')}\n";
    let output = Command::new(&python)
        .arg("-c")
        .arg(format!("{prelude}{script}"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .envs(env.iter().map(|(k, v)| (k.as_ref(), v.as_str())))
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "boto3 script failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("boto3 script printed no JSON ({e}): {stdout}"))
}
