//! One module per command; [`run`] dispatches the parsed command line to them.

mod audit;
mod doctor;
mod migrate;
mod permissions;
mod policy;
mod presets;
mod provision;
mod render;
mod shell;
mod trust;
mod usage;
mod verify;

use crate::cli::{Cli, Command, PolicyCommand, TrustCommand};
use crate::exit::{CliError, Code};

pub fn run(cli: Cli) -> Result<Code, CliError> {
    let mut command = cli.command;
    command.set_region(cli.global.region);
    crate::actionable::set_command(command.name(), command.permissions_of());
    match command {
        Command::Presets(args) => presets::run(args),
        Command::Render(args) => render::run(args),
        Command::Plan(args) => provision::plan(args),
        Command::Apply(args) => provision::apply(args),
        Command::Destroy(args) => provision::destroy(args),
        Command::List(args) => verify::list(args),
        Command::Verify(args) => verify::verify(args),
        Command::Migrate(args) => migrate::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Usage(args) => usage::run(args),
        Command::Policy(PolicyCommand::Eval(args)) => policy::eval(*args),
        Command::Policy(PolicyCommand::Lint(args)) => policy::lint(args),
        Command::Policy(PolicyCommand::Rules(args)) => policy::rules(args),
        Command::Trust(TrustCommand::Check(args)) => trust::check(args),
        Command::Audit(args) => audit::run(args),
        Command::Permissions(args) => permissions::run(args),
        Command::Completions(args) => shell::completions(args),
        Command::Man => shell::man(),
    }
}
