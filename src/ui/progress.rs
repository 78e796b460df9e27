//! A progress bar (indicatif) for the library's progress reports, drawn on
//! stderr only when it is a terminal, never with `-q`, and only once an
//! operation has run for about a second.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::progress::Progress;

/// How long an operation runs before a bar appears.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// A progress bar that stays hidden for short work and off terminals.
pub struct Bar {
    bar: ProgressBar,
    started: Instant,
    enabled: bool,
    shown: Mutex<bool>,
    /// With `-v`: the current phase and when it started, to report timings.
    timing: Option<Mutex<Option<(String, Instant)>>>,
}

impl Bar {
    /// A bar that may draw when `enabled` (stderr is a terminal and not `-q`).
    pub fn new(enabled: bool, verbose: bool) -> Bar {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        let style =
            ProgressStyle::with_template("{spinner} {msg:>14} [{bar:30}] {pos}/{len} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        bar.set_style(style);
        Bar {
            bar,
            started: Instant::now(),
            enabled,
            shown: Mutex::new(false),
            timing: verbose.then(|| Mutex::new(None)),
        }
    }

    /// With `-v`, reports how long the phase that just ended took.
    fn end_phase(&self, next: Option<&str>) {
        let Some(timing) = &self.timing else { return };
        let Ok(mut current) = timing.lock() else {
            return;
        };
        if let Some((name, since)) = current.take() {
            self.bar
                .suspend(|| eprintln!("{name}: {:.2}s", since.elapsed().as_secs_f64()));
        }
        *current = next.map(|n| (n.to_string(), Instant::now()));
    }

    fn maybe_show(&self) {
        if !self.enabled || self.started.elapsed() < SHOW_AFTER {
            return;
        }
        if let Ok(mut shown) = self.shown.lock()
            && !*shown
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            *shown = true;
        }
    }
}

impl Progress for Bar {
    fn phase(&self, name: &str, total: u64) {
        self.end_phase(Some(name));
        self.bar.set_message(name.to_string());
        self.bar.set_length(total);
        self.bar.set_position(0);
        self.maybe_show();
    }

    fn advance(&self, n: u64) {
        self.bar.inc(n);
        self.maybe_show();
    }

    fn finish(&self) {
        self.end_phase(None);
        self.bar.finish_and_clear();
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
