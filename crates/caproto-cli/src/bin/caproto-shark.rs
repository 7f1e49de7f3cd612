//! `caproto-shark`: prints every Channel Access message of a pcap capture.
//!
//! ```text
//! caproto-shark [--format text|json] [--relative] [--max-values N] <FILE | ->
//! ```
//!
//! Exit status: 0 if every message decoded, 1 if the capture could not be
//! read, 2 if it was read but some messages did not decode (listed on
//! stderr). Messages the capture holds only part of (missed packets) are
//! printed with `missing_bytes=N` and listed as warnings; they do not
//! change the exit status.

use std::io::{Read, Write};
use std::process::ExitCode;

use clap::Parser;

use caproto_cli::args::OutputFormat;
use caproto_cli::shark::{self, Options};

/// Print every Channel Access message of a pcap capture: time, addresses,
/// direction, command and decoded fields (DBR payloads decoded).
#[derive(Parser, Debug)]
#[command(
    name = "caproto-shark",
    version,
    after_help = "Examples:\n  caproto-shark capture.pcap\n  tcpdump -i lo -w - port 5064 | caproto-shark -\n  \
                  caproto-shark --format json capture.pcap | jq .command"
)]
struct Cli {
    /// Output format: one text line or one JSON object per message.
    #[arg(long = "format", value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// Print times in seconds since the first packet instead of UTC.
    #[arg(short = 'r', long = "relative")]
    relative: bool,
    /// Values shown per message (0: all).
    #[arg(long = "max-values", default_value_t = 20, value_name = "N")]
    max_values: usize,
    /// Largest CA payload accepted, in bytes.
    #[arg(long = "max-payload", default_value_t = 256 << 20, value_name = "BYTES")]
    max_payload: u32,
    /// The pcap file, or - for standard input.
    #[arg(value_name = "FILE")]
    file: String,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if e.use_stderr() => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("caproto-shark: {}", first.trim_start_matches("error: "));
            return ExitCode::from(1);
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    let bytes = if cli.file == "-" {
        let mut buf = Vec::new();
        std::io::stdin().lock().read_to_end(&mut buf).map(|_| buf)
    } else {
        std::fs::read(&cli.file)
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => {
            eprintln!("caproto-shark: cannot read '{}': {e}", cli.file);
            return ExitCode::from(1);
        }
    };
    let options = Options {
        json: cli.format == OutputFormat::Json,
        relative_time: cli.relative,
        max_payload: cli.max_payload,
        max_values: cli.max_values,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = shark::run(&bytes, &options, &mut out);
    let flushed = out.flush();
    match result {
        Ok(summary) => {
            for p in &summary.incomplete {
                eprintln!("caproto-shark: warning: {p}");
            }
            for p in &summary.problems {
                eprintln!("caproto-shark: {p}");
            }
            if summary.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }
        // A closed pipe (`| head`) is not an error.
        Err(shark::Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            if flushed.is_ok() {
                eprintln!("caproto-shark: {e}");
            }
            ExitCode::from(1)
        }
    }
}
