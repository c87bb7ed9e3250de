//! `irsa completions SHELL` and `irsa man`: the completion script (clap_complete) and the man
//! page (clap_mangen, roff), both generated from the command line's definition so they never
//! drift from it, printed on stdout.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, Shell};
use crate::exit::{CliError, Code};

pub fn completions(args: CompletionsArgs) -> Result<Code, CliError> {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::Powershell => clap_complete::Shell::PowerShell,
    };
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "irsa", &mut std::io::stdout());
    Ok(Code::Ok)
}

pub fn man() -> Result<Code, CliError> {
    let page = clap_mangen::Man::new(Cli::command());
    match page.render(&mut std::io::stdout()) {
        // `irsa man | head` closes the pipe early: not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::failed(format!("writing the man page: {e}")))
        }
        _ => Ok(Code::Ok),
    }
}
