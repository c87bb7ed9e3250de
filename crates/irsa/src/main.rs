//! `irsa`: set up, verify, troubleshoot and audit IAM Roles for Service Accounts on Amazon EKS.
//!
//! A thin binary: [`cli`] holds the arguments as the user wrote them; each module under
//! [`commands`] validates them, calls the pure libraries (`iam-policy`, `irsa-core`) and renders
//! the result for a person or, with `--output json`, for a program. Exit codes are stable:
//! 0 success (allowed, healthy), 1 a negative answer (denied, findings at the failing severity),
//! 2 bad input (including usage errors), 3 changes pending.

mod actionable;
mod cli;
mod commands;
mod connection;
mod desired_input;
mod executor;
mod exit;
mod issuer;
mod output;
mod preflight;
mod progress;
mod settings;
mod style;
mod token;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    settings::init(&args.global);
    let result = commands::run(args);
    match result {
        Ok(code) => code.into(),
        Err(error) => {
            eprintln!("{}: {error}", error.prefix());
            error.code().into()
        }
    }
}
