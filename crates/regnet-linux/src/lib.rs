//! # regnet-linux
//!
//! A Linux guest's network configuration, read from its files (never from the host): which stack
//! is active and what each interface will be at boot, as one stack-neutral [`LinuxNetwork`].
//!
//! Files are read through [`GuestFiles`], which the caller implements over the guest (regnet
//! uses its guest view, whose paths resolve inside the guest); [`MemFiles`] holds a tree in memory
//! for tests. Every file is hostile: sizes are bounded before reading, parsers never recurse on
//! input depth, and a broken file is a [`Warning`] naming it while the rest is still read.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod files;
mod host;
pub mod ifcfg;
pub mod ifupdown;
pub mod keyfile;
mod model;
pub mod netplan;
pub mod networkd;
mod read;
mod stack;

pub use files::{FileKind, FilesError, GuestFiles, Listing, MemFiles};
pub use host::canonical_mac;
pub use model::*;
pub use read::read;
