//! `caproto-softioc -d file.db [-m MACROS] [-d another.db]`: serves EPICS
//! database files, with the options of EPICS base's `softIoc`
//! (`softMain.cpp`): `-m` sets the macros used by the `-d` options that
//! follow it; `-S` (no shell) is accepted: there is no shell, the IOC runs
//! until SIGTERM or Ctrl-C either way; `-s` is accepted and ignored; `-a`, `-D`, `-x` are accepted with a
//! warning. Our own: `--port N`, `--interfaces A,B`, `-v` (more logging).
//! The CA environment (`EPICS_CAS_*`, `EPICS_CA_*`) applies as in an IOC.
//!
//! Any error in the databases (syntax, unknown record type or field, bad
//! value or CALC expression) is printed as `file:line:column: message`
//! and the IOC exits with status 1 without serving anything.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;

use caproto_server::{Ioc, IocArgs};
use caproto_softioc::db::{Database, Macros};
use caproto_softioc::Records;

const USAGE: &str = "\
Usage: caproto-softioc [-S] [-s] [-m MACROS] -d file.db [-d file.db ...]
    [--port N] [--interfaces A,B] [-v]

  -d file.db   load a database (with the macros of the last -m)
  -m MACROS    macros for the following -d, e.g. P=lab:,N=1
  -S           no interactive shell (there is none: runs until killed)
  -s           accepted (historical)
  -a, -D, -x   accepted, not supported (warning)
  --port N     CA server port (default: EPICS_CAS_SERVER_PORT,
               EPICS_CA_SERVER_PORT, 5064)
  --interfaces A,B  addresses to serve on (default: EPICS_CAS_INTF_ADDR_LIST)
  -v           more logging on stderr (-vv: every CA message)
  -h, --help   this help";

/// What the command line asks for.
#[derive(Debug, Default)]
struct Options {
    /// (file, macros) in order.
    loads: Vec<(PathBuf, String)>,
    /// `-S` given (no shell; we never have one).
    no_shell: bool,
    verbose: u8,
    port: Option<u16>,
    interfaces: Vec<Ipv4Addr>,
    warnings: Vec<String>,
}

enum Parsed {
    Run(Options),
    Help,
}

fn parse_args(args: &[String]) -> Result<Parsed, String> {
    let mut o = Options::default();
    let mut macros = String::new();
    let mut i = 0;
    let next = |i: &mut usize, what: &str| -> Result<String, String> {
        *i += 1;
        args.get(*i)
            .cloned()
            .ok_or_else(|| format!("option {what} needs an argument"))
    };
    while i < args.len() {
        let a = args.get(i).cloned().unwrap_or_default();
        match a.as_str() {
            "--help" => return Ok(Parsed::Help),
            "--port" => {
                let v = next(&mut i, "--port")?;
                o.port = Some(v.parse().map_err(|_| format!("bad port {v:?}"))?);
            }
            "--interfaces" => {
                let v = next(&mut i, "--interfaces")?;
                for s in v.split(',').filter(|s| !s.is_empty()) {
                    o.interfaces
                        .push(s.parse().map_err(|_| format!("bad address {s:?}"))?);
                }
            }
            "--" => {
                i += 1;
                break;
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            s if s.starts_with('-') && s.len() > 1 => {
                // getopt("ha:D:d:m:Ssx:v"): flags may be grouped, an
                // argument may follow in the same word or the next.
                let letters: Vec<char> = s.chars().skip(1).collect();
                let mut j = 0;
                while let Some(&c) = letters.get(j) {
                    match c {
                        'h' => return Ok(Parsed::Help),
                        'S' => o.no_shell = true,
                        's' => {}
                        'v' => o.verbose = o.verbose.saturating_add(1),
                        'a' | 'D' | 'd' | 'm' | 'x' => {
                            let rest: String = letters.iter().skip(j + 1).collect();
                            let arg = if rest.is_empty() {
                                next(&mut i, &format!("-{c}"))?
                            } else {
                                rest
                            };
                            match c {
                                'd' => o.loads.push((PathBuf::from(arg), macros.clone())),
                                'm' => macros = arg,
                                'a' => o.warnings.push(format!(
                                    "-a {arg}: access security files are not supported; every client may read and write"
                                )),
                                'D' => o.warnings.push(format!(
                                    "-D {arg}: database definition files are not read; the built-in record types are used"
                                )),
                                _ => o.warnings.push(format!(
                                    "-x {arg}: the exit record is not supported"
                                )),
                            }
                            break;
                        }
                        other => return Err(format!("Unknown argument: -{other}")),
                    }
                    j += 1;
                }
            }
            _ => {
                // softIoc runs a positional iocsh script; we have no shell.
                o.warnings
                    .push(format!("{a}: iocsh scripts are not supported (ignored)"));
            }
        }
        i += 1;
    }
    for rest in args.iter().skip(i) {
        o.warnings
            .push(format!("{rest}: iocsh scripts are not supported (ignored)"));
    }
    Ok(Parsed::Run(o))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match parse_args(&args) {
        Ok(Parsed::Run(o)) => o,
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("caproto-softioc: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    for w in &opts.warnings {
        eprintln!("caproto-softioc: warning: {w}");
    }
    if opts.loads.is_empty() {
        eprintln!("{USAGE}\nNothing to do!");
        return ExitCode::from(1);
    }
    // Parsed on a thread of its own: the parse tree is transient, and the
    // allocator gives that thread an arena of its own. The records are
    // built here, in the main arena; the tree then goes back to the parser
    // thread to be dropped there, where one mid-sized allocation makes the
    // allocator merge the freed small blocks so that the arena's memory
    // can return to the system: the parse does not stay resident.
    let loads = opts.loads.clone();
    let (to_main, from_parser) = std::sync::mpsc::channel();
    let (to_parser, from_main) = std::sync::mpsc::channel::<Database>();
    let parser = std::thread::spawn(move || {
        let mut database = Database::new();
        let parsed = loads
            .iter()
            .try_for_each(|(path, macros)| database.add_file(path, &Macros::parse(macros), &[]))
            .map(|()| database);
        if to_main.send(parsed).is_err() {
            return;
        }
        if let Ok(database) = from_main.recv() {
            drop(database);
            drop(std::hint::black_box(Vec::<u8>::with_capacity(64 * 1024)));
        }
    });
    let database = match from_parser.recv() {
        Ok(Ok(db)) => db,
        Ok(Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
        Err(_) => {
            eprintln!("caproto-softioc: the database parser failed");
            return ExitCode::from(1);
        }
    };
    for w in database.warnings() {
        eprintln!("{w}");
    }
    let records = match Records::from_database(&database) {
        Ok(r) => r,
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            return ExitCode::from(1);
        }
    };
    let _ = to_parser.send(database);
    let _ = parser.join();
    init_logging(opts.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("caproto-softioc: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(serve(records, opts))
}

async fn serve(records: Records, opts: Options) -> ExitCode {
    let args = IocArgs {
        prefix: None,
        list_pvs: false,
        interfaces: opts.interfaces.clone(),
        port: opts.port,
        verbose: opts.verbose,
    };
    let mut ioc = Ioc::with_args("", args);
    println!("Starting iocInit");
    records.install(&mut ioc);
    let running = match ioc.start().await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("caproto-softioc: {e}");
            return ExitCode::from(1);
        }
    };
    println!("iocRun: All initialization complete");
    caproto_server::wait_for_signal().await;
    running.shutdown().await;
    ExitCode::SUCCESS
}

/// Logs on stderr: warnings only by default (stdout stays quiet), `-v`
/// every request, `-vv` every CA message; `RUST_LOG` overrides.
fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let level = match verbose {
        0 => "warn",
        1 => "caproto_server=debug,info",
        _ => "caproto_server=trace,debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Options {
        let v: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        match parse_args(&v) {
            Ok(Parsed::Run(o)) => o,
            _ => panic!("not a run"),
        }
    }

    #[test]
    fn macros_apply_to_the_following_loads() {
        let o = run(&["-d", "a.db", "-m", "P=x:", "-d", "b.db", "-Sdc.db"]);
        assert_eq!(o.loads.len(), 3);
        assert_eq!(o.loads[0].1, "");
        assert_eq!(o.loads[1].1, "P=x:");
        assert_eq!(o.loads[2], (PathBuf::from("c.db"), "P=x:".to_owned()));
        assert!(o.no_shell);
    }

    #[test]
    fn server_options_and_warnings() {
        let o = run(&["--port", "5070", "-a", "x.acf", "-d", "a.db", "-v"]);
        assert_eq!(o.port, Some(5070));
        assert_eq!(o.verbose, 1);
        assert_eq!(o.warnings.len(), 1);
        assert!(parse_args(&["-q".to_owned()]).is_err());
    }
}
