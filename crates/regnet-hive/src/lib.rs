//! # regnet-hive
//!
//! A reader for Windows registry hive files (regf), written for untrusted
//! input: a tenant's disk image can hold any bytes, and this crate must turn
//! every one of them into a result or a typed error, in bounded time and
//! memory, without panicking.
//!
//! - Zero-copy: [`Hive`] borrows the file's bytes (a slice or a memory map);
//!   [`Key`] and [`Value`] are small views decoded on demand.
//! - Transaction logs: a dirty hive is brought up to date from its
//!   `.LOG1`/`.LOG2` files (new `HvLE` format and old `DIRT` format), never
//!   writing to them and, for new-format logs, without copying the hive: the
//!   pages the logs changed are read from the logs; [`Recovery`] says what was
//!   replayed.
//! - Safety: no `unsafe`, every offset and length checked, no recursion,
//!   cycles detected, and [`Limits`] on every allocation and loop.
//!
//! Written from Maxim Suhanov's *Windows registry file format specification*
//! (CC BY 4.0).
//!
//! ## Getting started
//! ```
//! use regnet_hive::{Hive, LogFile, OpenOptions};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/");
//! let primary = std::fs::read(format!("{dir}SYSTEM"))?;
//! let log1 = std::fs::read(format!("{dir}SYSTEM.LOG1"))?;
//! let log2 = std::fs::read(format!("{dir}SYSTEM.LOG2"))?;
//! let opts = OpenOptions::new()
//!     .log(LogFile::new("SYSTEM.LOG1", &log1))
//!     .log(LogFile::new("SYSTEM.LOG2", &log2));
//! let hive = Hive::open_with(&primary[..], &opts)?;
//! println!("recovered from logs: {}", hive.recovery().recovered);
//!
//! let current = hive.key("Select")?.value("Current")?.map(|v| v.u32()).transpose()?;
//! let params = hive.key(&format!("ControlSet{:03}\\Services\\Tcpip\\Parameters", current.unwrap_or(1)))?;
//! for value in params.values() {
//!     let value = value?;
//!     println!("{} ({}) = {:02x?}", value.name(), value.data_type(), value.data()?);
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
// Unit tests may index and unwrap: a panic there is a failed test, not a crash.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

#[cfg(target_pointer_width = "16")]
compile_error!("regnet-hive needs a 32- or 64-bit target: hive offsets are u32 and are widened to usize");

mod base_block;
mod bytes;
mod error;
mod hive;
mod key;
mod limits;
mod marvin;
mod name;
mod overlay;
mod replay;
mod time;
mod upcase;
mod value;
mod walk;

pub use base_block::{xor32, BaseBlock, BASE_BLOCK_SIZE};
pub use error::{FileOffset, HiveError, Result};
pub use hive::{Hive, OpenOptions, Warning};
pub use key::{Key, Subkeys};
pub use limits::Limits;
pub use marvin::{marvin32, marvin32_many, REGISTRY_SEED};
pub use name::Name;
pub use overlay::Source;
pub use replay::{log_bytes_needed, LogFile, LogFormat, LogReport, LogStatus, Recovery};
pub use time::FileTime;
pub use upcase::upcase;
pub use value::{decode_multi_sz, decode_utf16z, Value, ValueType, Values, BIG_DATA_SEGMENT};
pub use walk::{Walk, WalkEntry};
