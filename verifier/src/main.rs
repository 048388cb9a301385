//! `custody-verify`: checks custody evidence offline.

mod cli;

fn main() -> std::process::ExitCode {
    cli::Outcome::Unusable.into()
}
