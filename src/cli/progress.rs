//! Apply progress on stderr: a live bar (indicatif) on a terminal, one plain line per finished
//! action otherwise (CI logs), nothing with `-q`.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::output::Printer;

/// Where progress goes.
pub struct Progress {
    bar: Option<ProgressBar>,
    printer: Printer,
}

impl Progress {
    /// A live view when stderr is a terminal and output is not quiet.
    pub fn new(total: usize, printer: &Printer) -> Self {
        let live = !printer.quiet && std::io::stderr().is_terminal();
        let bar = live.then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Self {
            bar,
            printer: *printer,
        }
    }

    /// An action started.
    pub fn started(&self, what: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(crate::model::secret::scrub_run(what).into_owned());
        }
    }

    /// An action ended; `line` says how.
    pub fn finished(&self, line: &str) {
        match &self.bar {
            Some(bar) => {
                bar.println(crate::model::secret::scrub_run(line));
                bar.inc(1);
            }
            None if !self.printer.quiet => self.printer.status(line),
            None => {}
        }
    }

    /// A line that reports no action's end (something learned on the way).
    pub fn note(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(crate::model::secret::scrub_run(line)),
            None if !self.printer.quiet => self.printer.status(line),
            None => {}
        }
    }

    /// Removes the bar.
    pub fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
