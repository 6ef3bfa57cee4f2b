//! `redarc demo`: the main job on a generated export, end to end.

use std::path::PathBuf;

/// Arguments of `redarc demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Directory for the demo's files (a new run-<time> directory is made inside).
    #[arg(long, default_value = "redarc-demo")]
    pub(crate) dir: PathBuf,
}

pub(crate) fn demo(_args: &DemoArgs) -> redarc::Result<i32> {
    Err(redarc::Error::Usage(
        "the demo needs the sample generator".into(),
    ))
}
