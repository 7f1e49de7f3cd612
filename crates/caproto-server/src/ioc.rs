//! An IOC: PVs under a prefix, background tasks, start-up and shutdown
//! hooks, and the standard command-line options.

use std::future::Future;
use std::net::Ipv4Addr;
use std::pin::Pin;

use tokio::task::JoinSet;
use tracing::info;

use crate::group::{Group, PvSource};
use crate::pv::{Pv, PvBuilder};
use crate::server::{Server, ServerHandle, ServerOptions};
use crate::Error;

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;
type Hook = Box<dyn FnOnce() -> Task + Send>;

/// The standard options of every IOC binary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::Parser))]
#[cfg_attr(
    feature = "cli",
    command(about = "A Channel Access IOC (caproto-server)")
)]
pub struct IocArgs {
    /// Prefix of every PV name (default: the IOC's own).
    #[cfg_attr(feature = "cli", arg(long))]
    pub prefix: Option<String>,
    /// Print the PV names and exit.
    #[cfg_attr(feature = "cli", arg(long))]
    pub list_pvs: bool,
    /// Interfaces to serve on, comma-separated (default:
    /// EPICS_CAS_INTF_ADDR_LIST, else all).
    #[cfg_attr(feature = "cli", arg(long, value_delimiter = ','))]
    pub interfaces: Vec<Ipv4Addr>,
    /// TCP and UDP port (default: EPICS_CAS_SERVER_PORT, EPICS_CA_SERVER_PORT, 5064).
    #[cfg_attr(feature = "cli", arg(long))]
    pub port: Option<u16>,
    /// More logging: -v every request, -vv every CA message.
    #[cfg_attr(feature = "cli", arg(short, long, action = clap::ArgAction::Count))]
    pub verbose: u8,
}

/// An IOC: a [`Group`] of PVs under its prefix, tasks and hooks, served by
/// a [`Server`].
///
/// ```no_run
/// use caproto_server::{Ioc, Pv};
/// #[tokio::main]
/// async fn main() -> Result<(), caproto_server::Error> {
///     let mut ioc = Ioc::from_args("demo:");
///     ioc.pv("A", Pv::int(1));
///     ioc.pv("B", Pv::double(2.0).units("mm").precision(3));
///     ioc.run().await
/// }
/// ```
pub struct Ioc {
    root: Group,
    args: IocArgs,
    options: Option<ServerOptions>,
    tasks: Vec<Task>,
    startup: Vec<Hook>,
    shutdown: Vec<Hook>,
}

impl std::fmt::Debug for Ioc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ioc")
            .field("root", &self.root)
            .field("args", &self.args)
            .finish_non_exhaustive()
    }
}

impl Ioc {
    /// An IOC with the given prefix and default options (no command line).
    pub fn new(prefix: &str) -> Ioc {
        Ioc::with_args(prefix, IocArgs::default())
    }

    /// An IOC configured by the command line (`--prefix` overrides
    /// `default_prefix`); `--help` prints the options and exits, a bad
    /// option prints an error and exits with status 2.
    #[cfg(feature = "cli")]
    pub fn from_args(default_prefix: &str) -> Ioc {
        use clap::Parser;
        Ioc::with_args(default_prefix, IocArgs::parse())
    }

    /// An IOC with options already parsed.
    pub fn with_args(default_prefix: &str, args: IocArgs) -> Ioc {
        let prefix = args
            .prefix
            .clone()
            .unwrap_or_else(|| default_prefix.to_owned());
        Ioc {
            root: Group::new(prefix),
            args,
            options: None,
            tasks: Vec::new(),
            startup: Vec::new(),
            shutdown: Vec::new(),
        }
    }

    /// Uses these server options instead of the environment (the command
    /// line's `--interfaces` / `--port` still apply on top).
    pub fn options(mut self, options: ServerOptions) -> Ioc {
        self.options = Some(options);
        self
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        self.root.prefix()
    }

    /// Adds a PV named `prefix + name`.
    pub fn pv(&mut self, name: &str, builder: PvBuilder) -> Pv {
        self.root.pv(name, builder)
    }

    /// Adds a group (its names get the IOC prefix in front).
    pub fn add_group(&mut self, group: Group) -> &mut Self {
        self.root.add_group(group);
        self
    }

    /// Adds a source of PVs made on demand (see [`PvSource`]) under the
    /// IOC prefix.
    pub fn add_source(&mut self, source: std::sync::Arc<dyn PvSource>) -> &mut Self {
        self.root.add_source(source);
        self
    }

    /// Every served name.
    pub fn names(&self) -> Vec<String> {
        self.root.names()
    }

    /// A background task, started once the server serves and stopped at
    /// shutdown (e.g. a loop posting new values).
    pub fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.push(Box::pin(task));
    }

    /// Runs `f` every `period` (a periodic scan), from the start of the
    /// server until shutdown.
    pub fn scan<F, Fut>(&mut self, period: std::time::Duration, mut f: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                f().await;
            }
        });
    }

    /// A hook run once the server serves, before the background tasks.
    pub fn on_startup<F, Fut>(&mut self, f: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.startup.push(Box::new(move || Box::pin(f())));
    }

    /// A hook run at shutdown, after the clients were disconnected.
    pub fn on_shutdown<F, Fut>(&mut self, f: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.shutdown.push(Box::new(move || Box::pin(f())));
    }

    /// Starts serving and returns a handle (for tests and for programs
    /// with their own main loop).
    pub async fn start(self) -> Result<RunningIoc, Error> {
        let mut options = match self.options {
            Some(o) => o,
            None => ServerOptions::from_env()?,
        };
        if let Some(p) = self.args.port {
            options = options.port(p);
        }
        if !self.args.interfaces.is_empty() {
            options = options.interfaces(&self.args.interfaces);
        }
        let server = Server::with_options(&self.root, options).start().await?;
        for hook in self.startup {
            hook().await;
        }
        let mut tasks = JoinSet::new();
        for t in self.tasks {
            tasks.spawn(t);
        }
        Ok(RunningIoc {
            server,
            tasks,
            shutdown: self.shutdown,
        })
    }

    /// The whole life of an IOC binary: handles `--list-pvs` and `-v`,
    /// serves until Ctrl-C (or SIGTERM), then shuts down gracefully.
    pub async fn run(self) -> Result<(), Error> {
        if self.args.list_pvs {
            for name in self.names() {
                println!("{name}");
            }
            return Ok(());
        }
        #[cfg(feature = "cli")]
        init_logging(self.args.verbose);
        let ioc = self.start().await?;
        info!("serving; Ctrl-C to stop");
        wait_for_signal().await;
        info!("shutting down");
        ioc.shutdown().await;
        Ok(())
    }
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM: how an IOC binary is told to
/// shut down.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// A running IOC.
pub struct RunningIoc {
    server: ServerHandle,
    tasks: JoinSet<()>,
    shutdown: Vec<Hook>,
}

impl std::fmt::Debug for RunningIoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningIoc")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl RunningIoc {
    /// The server (its ports).
    pub fn server(&self) -> &ServerHandle {
        &self.server
    }

    /// Stops the background tasks, disconnects every client, then runs
    /// the shutdown hooks.
    pub async fn shutdown(mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        self.server.shutdown().await;
        for hook in self.shutdown {
            hook().await;
        }
    }
}

/// Installs a log subscriber on stderr: info by default, `-v` debug (every
/// request), `-vv` trace (every CA message decoded); `RUST_LOG` overrides.
#[cfg(feature = "cli")]
pub fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let level = match verbose {
        0 => "info",
        1 => "caproto_server=debug,info",
        _ => "caproto_server=trace,debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
