//! Starts moto, an independent implementation of the AWS APIs (IAM, STS, EKS clusters, Auto
//! Scaling, …), as a server on 127.0.0.1 for tests and the sandbox.
//!
//! moto lives in a Python virtual environment of its own: `$IRSA_MOTO_VENV` when set, otherwise
//! `<repo>/target/moto-venv`. On first use the venv is created with `python3 -m venv` and
//! `moto[server]` (pinned to [`MOTO_VERSION`]) is installed into it with pip; concurrent test
//! processes serialize that install through a lock file next to the venv, and later runs skip it
//! when `bin/moto_server` exists. Each [`MotoServer`] is one moto server process on a free port,
//! run by the venv's Python through `moto_launcher.py` (moto's own server with its per-request
//! backend lookup memoised, no access log, and requests served one at a time because moto's
//! backends are not thread-safe; see that file), with `MOTO_IAM_LOAD_MANAGED_POLICIES=true` (so AWS managed policies such as
//! `AmazonEBSCSIDriverPolicy` exist); it is killed when the value is dropped. The server's log goes
//! to a temporary file whose tail is quoted when the server fails to come up.
//!
//! [`MotoServer::start_enforcing_iam`] starts it with moto's IAM access control on. How moto
//! does it (moto 5.2.5, `moto/core/authorization.py`, `moto/iam/access_control.py`): every
//! request of every service dispatched through moto's `BaseResponse` (IAM, STS, EKS, Auto
//! Scaling, CloudTrail, …; not `/moto-api`) is counted while the count is below
//! `INITIAL_NO_AUTH_ACTION_COUNT` and passes unchecked; from then on each one is checked: the
//! SigV4 signature is recomputed with the caller's secret (so the access key must belong to an
//! IAM user or an assumed-role session in moto), then the caller's identity policies (inline and
//! attached, its groups' too) are evaluated for `service:Action` (service from the credential
//! scope; matched as a case-sensitive pattern), an explicit Deny winning; the answer is HTTP 403
//! `AccessDenied` ("User: ARN is not authorized to perform: ACTION"), `sts:GetCallerIdentity`
//! is always allowed, and an `sts:AssumeRole` is also checked against the role's trust policy.
//! What moto does not enforce: resources, except for IAM calls naming an existing role by
//! `RoleName` (its ARN) and STS AssumeRole (`RoleArn`) — every other request is checked against
//! `*`; `NotResource` (a statement without `Resource` allows its actions everywhere);
//! conditions other than `StringEquals` on `sts:ExternalId` (others pass); permissions
//! boundaries, SCPs, session policies and resource-based policies; the extra actions some calls
//! need (e.g. `iam:PassRole`). And it cannot check a signed restJson GET (EKS's DescribeCluster,
//! ListClusters, …: its recomputed signature never matches, 403 SignatureDoesNotMatch), so the
//! fake EKS checks those itself (`fake_eks::authorize`). The sandbox starts it with a count of 0
//! and the launcher's changes 4–7 (see `moto_launcher.py`): its own key unchecked, STS's unsigned
//! calls unchecked, IAM calls checked on the ARN their parameters name (any other unknown
//! resource matched by any `Resource`), and refusals in each
//! service's own wire format with IAM's wording (moto's own are EC2-shaped, which the SDKs
//! cannot read for IAM).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The moto release installed into a fresh virtual environment.
pub const MOTO_VERSION: &str = "5.2.5";

/// Runs `moto.server.main` with the changes its doc lists; passed to `python -c`.
const LAUNCHER: &str = include_str!("moto_launcher.py");

/// How long a started server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Why moto could not be installed or started.
#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    #[error(
        "cannot run `python3 -m venv {venv}` (is python3 with the venv module installed?): {source}"
    )]
    Python {
        venv: PathBuf,
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}):\n{output}")]
    Install {
        command: String,
        status: String,
        output: String,
    },
    #[error("cannot lock {path} to install moto: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("moto_server on 127.0.0.1:{port} {what}; its log:\n{log}")]
    NotReady {
        port: u16,
        what: String,
        log: String,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

/// A running moto server on 127.0.0.1, killed on drop.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    port: u16,
    log_path: PathBuf,
}

impl MotoServer {
    /// Installs moto if needed (see the module doc) and starts a server on a free port.
    pub fn start() -> Result<MotoServer, MotoError> {
        MotoServer::start_in(&default_venv())
    }

    /// Like [`MotoServer::start`], with IAM enforced for every caller but the sandbox's own key
    /// ([`crate::enforce::SANDBOX_ACCESS_KEY`]; see the module doc).
    pub fn start_enforcing_iam() -> Result<MotoServer, MotoError> {
        MotoServer::start_with(&default_venv(), true)
    }

    /// Like [`MotoServer::start`] with the virtual environment at `venv`.
    pub fn start_in(venv: &Path) -> Result<MotoServer, MotoError> {
        MotoServer::start_with(venv, false)
    }

    fn start_with(venv: &Path, enforce_iam: bool) -> Result<MotoServer, MotoError> {
        let program = ensure_installed(venv)?;
        // A port picked by binding to :0 can be taken by someone else before moto binds it:
        // try a few times.
        let mut last = None;
        for _ in 0..3 {
            match spawn(&program, enforce_iam) {
                Ok(server) => return Ok(server),
                Err(e @ MotoError::NotReady { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("at least one attempt"))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log_path);
    }
}

/// `$IRSA_MOTO_VENV`, else `<repo>/target/moto-venv`.
pub fn default_venv() -> PathBuf {
    match std::env::var_os("IRSA_MOTO_VENV") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/moto-venv"),
    }
}

/// Creates the venv and installs moto unless `bin/moto_server` is already there; returns the
/// path of `moto_server`.
pub fn ensure_installed(venv: &Path) -> Result<PathBuf, MotoError> {
    let program = venv.join("bin").join("moto_server");
    if program.exists() {
        return Ok(program);
    }
    let parent = venv.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|source| MotoError::Io {
        what: format!("cannot create {}", parent.display()),
        source,
    })?;
    let lock_path = venv.with_extension("lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| MotoError::Lock {
            path: lock_path.clone(),
            source,
        })?;
    lock.lock().map_err(|source| MotoError::Lock {
        path: lock_path.clone(),
        source,
    })?;
    // Someone else may have installed it while we waited for the lock.
    if program.exists() {
        return Ok(program);
    }
    if !venv.join("bin").join("pip").exists() {
        let output = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(venv)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| MotoError::Python {
                venv: venv.to_path_buf(),
                source,
            })?;
        check(format!("python3 -m venv {}", venv.display()), &output)?;
    }
    let requirement = format!("moto[server]=={MOTO_VERSION}");
    let pip = venv.join("bin").join("pip");
    let output = Command::new(&pip)
        .args([
            "install",
            "--disable-pip-version-check",
            "--quiet",
            &requirement,
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|source| MotoError::Spawn {
            program: pip.clone(),
            source,
        })?;
    check(
        format!("{} install '{requirement}'", pip.display()),
        &output,
    )?;
    if !program.exists() {
        return Err(MotoError::Install {
            command: format!("pip install '{requirement}'"),
            status: "succeeded".into(),
            output: format!("but {} does not exist", program.display()),
        });
    }
    drop(lock);
    Ok(program)
}

fn check(command: String, output: &std::process::Output) -> Result<(), MotoError> {
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Err(MotoError::Install {
        command,
        status: output.status.to_string(),
        output: text,
    })
}

fn free_port() -> Result<u16, MotoError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|source| MotoError::Io {
        what: "cannot bind 127.0.0.1:0".into(),
        source,
    })?;
    let port = listener
        .local_addr()
        .map_err(|source| MotoError::Io {
            what: "cannot read the bound port".into(),
            source,
        })?
        .port();
    Ok(port)
}

fn spawn(program: &Path, enforce_iam: bool) -> Result<MotoServer, MotoError> {
    let port = free_port()?;
    let log_path =
        std::env::temp_dir().join(format!("irsa-moto-{}-{port}.log", std::process::id()));
    let log = File::create(&log_path).map_err(|source| MotoError::Io {
        what: format!("cannot create {}", log_path.display()),
        source,
    })?;
    let log_err = log.try_clone().map_err(|source| MotoError::Io {
        what: "cannot clone the log file".into(),
        source,
    })?;
    // `bin/python` sits beside `bin/moto_server` in the venv.
    let python = program.with_file_name("python");
    let mut command = Command::new(&python);
    command
        .args(["-c", LAUNCHER, "-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true");
    if enforce_iam {
        command.env("INITIAL_NO_AUTH_ACTION_COUNT", "0").env(
            "IRSA_SANDBOX_ACCESS_KEY",
            crate::enforce::SANDBOX_ACCESS_KEY,
        );
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|source| MotoError::Spawn {
            program: python.clone(),
            source,
        })?;
    let mut server = MotoServer {
        child,
        port,
        log_path,
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(MotoError::NotReady {
                port,
                what: format!("exited ({status})"),
                log: read_tail(&server.log_path),
            });
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(server);
        }
        if started.elapsed() > START_TIMEOUT {
            let log = read_tail(&server.log_path);
            // Dropping `server` kills the process.
            return Err(MotoError::NotReady {
                port,
                what: format!("did not accept connections within {START_TIMEOUT:?}"),
                log,
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last few KiB of the server's log.
fn read_tail(path: &Path) -> String {
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(4096)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn starts_answers_and_stops() {
        let server = MotoServer::start().unwrap();
        let endpoint = server.endpoint();
        assert!(endpoint.starts_with("http://127.0.0.1:"));
        let mut stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        stream
            .write_all(b"GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        let port = server.port();
        drop(server);
        assert!(
            TcpStream::connect_timeout(
                &SocketAddr::from(([127, 0, 0, 1], port)),
                Duration::from_millis(200)
            )
            .is_err()
        );
    }
}
