//! Progress of apply's and destroy's steps on stderr. On a terminal, a step that waits (an EKS
//! add-on turning ACTIVE takes minutes on a real cluster) shows an indicatif spinner with its
//! latest status and the time elapsed, and every finished step leaves one line above the
//! spinners; elsewhere (CI logs, pipes) the same news comes as plain lines.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where the steps report.
pub struct Reporter {
    /// Spinners when stderr is a terminal.
    spinners: Option<MultiProgress>,
}

impl Reporter {
    /// Spinners on a terminal, plain lines otherwise.
    pub fn new() -> Reporter {
        let terminal = std::io::stderr().is_terminal();
        Reporter {
            spinners: terminal
                .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
        }
    }

    /// The progress of one step, `label` naming it.
    pub fn step(&self, label: &str) -> StepProgress {
        StepProgress {
            label: label.to_string(),
            spinners: self.spinners.clone(),
            spinner: OnceLock::new(),
        }
    }
}

/// One step's news.
pub struct StepProgress {
    label: String,
    spinners: Option<MultiProgress>,
    /// Made at the step's first news, so steps that do not wait show none.
    spinner: OnceLock<ProgressBar>,
}

impl StepProgress {
    /// The step's latest status (`add-on aws-ebs-csi-driver: CREATING (12.0s)`).
    pub fn status(&self, message: &str) {
        let Some(spinners) = &self.spinners else {
            eprintln!("    {message}");
            return;
        };
        let spinner = self.spinner.get_or_init(|| {
            let bar = spinners.add(ProgressBar::new_spinner());
            let style = ProgressStyle::with_template("  {spinner} {prefix}: {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.set_prefix(self.label.clone());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        spinner.set_message(message.to_string());
    }

    /// The step's last line (`✓ …` or `✗ …`), which stays.
    pub fn finish(&self, line: &str) {
        if let Some(spinner) = self.spinner.get() {
            spinner.finish_and_clear();
        }
        match &self.spinners {
            Some(spinners) => {
                let _ = spinners.println(line);
            }
            None => eprintln!("{line}"),
        }
    }
}
