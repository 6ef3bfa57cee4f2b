//! The archive: streaming writer and reader over tar → zstd → age.

mod batch;
mod crypto;
pub(crate) mod deep;
mod frames;
pub(crate) mod json_line;
pub(crate) mod reader;
mod sink;
pub(crate) mod stream;
mod writer;

pub use crypto::{Identities, Recipients, DEFAULT_MAX_WORK_FACTOR};
pub use reader::{unpack, verify, ArchiveReader, Check, CheckLevel, Records, VerifyReport};
pub use stream::ReadLimits;
pub use writer::{
    EntityWriter, ExportOptions, ExportWriter, DEFAULT_LEVEL, DEFAULT_MAX_RECORD,
    DEFAULT_PART_SIZE, READING_RECORDS,
};
