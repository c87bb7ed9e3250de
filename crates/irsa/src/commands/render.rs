//! `irsa render`: (being written)
use crate::cli::RenderArgs;
use crate::exit::{CliError, Code};

pub fn run(_args: RenderArgs) -> Result<Code, CliError> {
    Err(CliError::input("render is not available yet"))
}
