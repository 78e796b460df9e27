//! Running a tool (uv, pixi) as a child process: its output goes to an
//! [`OutputSink`] line by line as it happens (stdout can be captured for
//! JSON instead), its last lines are kept for the error, and it is stopped,
//! with everything it started, on Ctrl-C or after a timeout. The child runs
//! in its own process group so that stopping it reaches its children too.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::BackendError;

/// How often a waiting run checks for a stop signal and the time limit.
const POLL: Duration = Duration::from_millis(20);

/// How many of the tool's last lines an error shows.
pub const LAST_LINES: usize = 15;

/// The default limit for one tool run, in seconds (`PKG_ENV_TIMEOUT`
/// overrides it).
pub const DEFAULT_TIMEOUT_SECS: u64 = 1800;

/// Receives the tool's output lines as they are printed.
pub trait OutputSink: Send + Sync {
    /// One line (without its newline) printed by `tool`.
    fn line(&self, tool: &str, line: &str);
}

/// Drops every line.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl OutputSink for Silent {
    fn line(&self, _tool: &str, _line: &str) {}
}

/// One tool run.
#[derive(Debug, Clone)]
pub struct ToolCommand {
    /// `uv` or `pixi`: the prefix of the streamed lines.
    pub tool: &'static str,
    /// The binary.
    pub program: PathBuf,
    /// The arguments.
    pub args: Vec<OsString>,
    /// The working directory.
    pub cwd: PathBuf,
    /// Extra environment variables.
    pub env: Vec<(OsString, OsString)>,
    /// Capture stdout (for JSON) instead of streaming it.
    pub capture_stdout: bool,
}

impl ToolCommand {
    /// A command for `tool` at `program`, run in `cwd`.
    pub fn new(tool: &'static str, program: PathBuf, cwd: PathBuf) -> ToolCommand {
        ToolCommand {
            tool,
            program,
            args: Vec::new(),
            cwd,
            env: Vec::new(),
            capture_stdout: false,
        }
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> ToolCommand
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Captures stdout instead of streaming it.
    pub fn capture(mut self) -> ToolCommand {
        self.capture_stdout = true;
        self
    }

    /// The command line, for messages.
    pub fn display(&self) -> String {
        let mut text = self.tool.to_string();
        for arg in &self.args {
            text.push(' ');
            text.push_str(&arg.to_string_lossy());
        }
        text
    }
}

/// What a successful run printed.
#[derive(Debug, Clone, Default)]
pub struct ToolOutput {
    /// stdout, when captured.
    pub stdout: Vec<u8>,
}

/// Set by the SIGINT handler while a tool runs.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_signal: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// The signals that stop a tool run: Ctrl-C, `kill`, a closed terminal.
const STOP_SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// Catches [`STOP_SIGNALS`] while a tool runs; restores the previous
/// dispositions when dropped.
struct SigintGuard {
    previous: [libc::sighandler_t; 3],
}

impl SigintGuard {
    fn install() -> SigintGuard {
        INTERRUPTED.store(false, Ordering::SeqCst);
        let handler = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe; the previous dispositions are restored on drop.
        let previous = STOP_SIGNALS.map(|signal| unsafe { libc::signal(signal, handler) });
        SigintGuard { previous }
    }
}

impl Drop for SigintGuard {
    fn drop(&mut self) {
        for (signal, previous) in STOP_SIGNALS.iter().zip(self.previous) {
            // SAFETY: restores a disposition saved by `install`.
            unsafe {
                libc::signal(*signal, previous);
            }
        }
    }
}

/// The time limit of one run: `PKG_ENV_TIMEOUT` seconds, else the default.
pub fn timeout() -> Duration {
    let secs = std::env::var("PKG_ENV_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .unwrap_or(DEFAULT_TIMEOUT_SECS);
    Duration::from_secs(secs)
}

/// Runs `command`, streaming its output to `sink`. Fails with the tool's
/// last lines when it exits non-zero.
pub fn run(command: &ToolCommand, sink: &Arc<dyn OutputSink>) -> Result<ToolOutput, BackendError> {
    let display = command.display();
    let mut child = spawn(command)?;
    let tail: Arc<Mutex<VecDeque<String>>> = Arc::new(Mutex::new(VecDeque::new()));
    let mut readers = Vec::new();
    if let Some(stderr) = child.stderr.take() {
        readers.push(stream_lines(
            stderr,
            command.tool,
            sink.clone(),
            tail.clone(),
        ));
    }
    let mut captured = None;
    if let Some(mut stdout) = child.stdout.take() {
        if command.capture_stdout {
            captured = Some(std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = stdout.read_to_end(&mut bytes);
                bytes
            }));
        } else {
            readers.push(stream_lines(
                stdout,
                command.tool,
                sink.clone(),
                tail.clone(),
            ));
        }
    }
    let guard = SigintGuard::install();
    let limit = timeout();
    let started = Instant::now();
    // A thread waits for the exit, so it is seen at once; this loop wakes
    // every POLL only to check for a stop signal or the time limit.
    let pid = child.id();
    let (exited, exit) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = exited.send(child.wait());
    });
    let outcome = loop {
        match exit.recv_timeout(POLL) {
            Ok(Ok(status)) => break Ok(status),
            Ok(Err(e)) => {
                break Err(BackendError::Io {
                    action: "cannot wait for",
                    path: command.program.clone(),
                    source: e,
                });
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                break Err(BackendError::Io {
                    action: "lost track of",
                    path: command.program.clone(),
                    source: std::io::Error::other("the waiting thread ended"),
                });
            }
        }
        if INTERRUPTED.load(Ordering::SeqCst) {
            stop(pid, &exit);
            break Err(BackendError::Interrupted {
                command: display.clone(),
            });
        }
        if started.elapsed() > limit {
            stop(pid, &exit);
            break Err(BackendError::Timeout {
                command: display.clone(),
                seconds: limit.as_secs(),
                output: Vec::new(),
            });
        }
    };
    let _ = waiter.join();
    drop(guard);
    for reader in readers {
        let _ = reader.join();
    }
    let stdout = captured
        .map(|h| h.join().unwrap_or_default())
        .unwrap_or_default();
    let last: Vec<String> = tail
        .lock()
        .map(|t| t.iter().cloned().collect())
        .unwrap_or_default();
    match outcome {
        Ok(status) if status.success() => Ok(ToolOutput { stdout }),
        Ok(status) => Err(BackendError::ToolFailed {
            command: display,
            status: describe(status),
            output: last,
        }),
        Err(BackendError::Timeout {
            command, seconds, ..
        }) => Err(BackendError::Timeout {
            command,
            seconds,
            output: last,
        }),
        Err(e) => Err(e),
    }
}

fn spawn(command: &ToolCommand) -> Result<Child, BackendError> {
    let mut builder = Command::new(&command.program);
    builder
        .args(&command.args)
        .current_dir(&command.cwd)
        .envs(command.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: prctl is async-signal-safe. If pkg dies without stopping the
    // tool (SIGKILL), the kernel sends the tool SIGTERM.
    unsafe {
        builder.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    builder.spawn().map_err(|source| BackendError::Io {
        action: "cannot run",
        path: command.program.clone(),
        source,
    })
}

/// Streams `reader`'s lines to `sink`, keeping the last [`LAST_LINES`].
fn stream_lines(
    reader: impl Read + Send + 'static,
    tool: &'static str,
    sink: Arc<dyn OutputSink>,
    tail: Arc<Mutex<VecDeque<String>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match reader.read_until(b'\n', &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&buffer);
            // Progress redraws use carriage returns; keep the last state.
            let line = text
                .trim_end_matches(['\n', '\r'])
                .rsplit('\r')
                .next()
                .unwrap_or_default()
                .to_string();
            if line.trim().is_empty() {
                continue;
            }
            sink.line(tool, &line);
            if let Ok(mut tail) = tail.lock() {
                if tail.len() == LAST_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        }
    })
}

/// Stops the child (whose exit `exit` reports) and its process group:
/// SIGTERM, then SIGKILL after 2 s.
fn stop(pid: u32, exit: &mpsc::Receiver<std::io::Result<ExitStatus>>) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: signals the process group the child leads (process_group(0)).
    unsafe {
        libc::kill(-pid, libc::SIGTERM);
    }
    let exited = exit.recv_timeout(Duration::from_secs(2)).is_ok();
    // SAFETY: as above; the group may hold children that ignored SIGTERM.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
    if !exited {
        let _ = exit.recv();
    }
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Collect(Mutex<Vec<String>>);

    impl OutputSink for Collect {
        fn line(&self, tool: &str, line: &str) {
            self.0.lock().unwrap().push(format!("[{tool}] {line}"));
        }
    }

    fn sh(script: &str) -> ToolCommand {
        ToolCommand::new("sh", PathBuf::from("/bin/sh"), std::env::temp_dir()).args(["-c", script])
    }

    #[test]
    fn streams_lines_and_captures_stdout() {
        let collect = Arc::new(Collect(Mutex::new(Vec::new())));
        let sink: Arc<dyn OutputSink> = collect.clone();
        let out = run(
            &sh("echo one >&2; printf 'a\\rb\\n' >&2; echo '[1]'").capture(),
            &sink,
        )
        .unwrap();
        assert_eq!(out.stdout, b"[1]\n");
        assert_eq!(*collect.0.lock().unwrap(), ["[sh] one", "[sh] b"]);
    }

    #[test]
    fn failures_carry_the_last_lines() {
        let sink: Arc<dyn OutputSink> = Arc::new(Silent);
        let err = run(
            &sh("for i in $(seq 1 30); do echo line$i; done; exit 3"),
            &sink,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("exit status 3"), "{text}");
        assert!(
            text.contains("line30") && !text.contains("line15\n"),
            "{text}"
        );
    }

    #[test]
    fn a_missing_binary_is_an_io_error() {
        let sink: Arc<dyn OutputSink> = Arc::new(Silent);
        let cmd = ToolCommand::new("x", PathBuf::from("/nonexistent/x"), std::env::temp_dir());
        assert!(matches!(run(&cmd, &sink), Err(BackendError::Io { .. })));
    }
}
