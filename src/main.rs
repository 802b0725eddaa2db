//! berth: an OCI container runtime, called the way runc is called.

mod cgroups;
mod cli;
mod container;
mod exec;
mod features;
mod hooks;
mod log;
mod namespaces;
mod netdev;
mod netlink;
mod process;
mod rootfs;
mod runner;
mod security;
mod signal;
mod spec;
mod state;
mod sys;
#[cfg(test)]
mod testutil;

use clap::Parser;

/// dlmalloc keeps freed memory for reuse: musl's allocator maps and unmaps
/// pages for the small allocations berth makes, and the profile showed
/// those system calls in every command.
#[global_allocator]
static ALLOC: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

fn main() {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 1,
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let format = if cli.log_format == "json" {
        log::Format::Json
    } else {
        log::Format::Text
    };
    log::init(cli.log.clone(), format, cli.debug);
    let code = match cli::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            log::error(&format!("{e:#}"));
            1
        }
    };
    std::process::exit(code);
}
