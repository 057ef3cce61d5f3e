//! Test-only helpers for regnet: a regf hive writer and a transaction-log writer. Never shipped
//! (`publish = false`).
//!
//! The writer is an independent implementation of the registry hive format, written from Maxim
//! Suhanov's regf specification (CC BY 4.0) and checked against hivex, an independent reader, and
//! against real hives and logs. It exists so that the parser can be tested on fixtures the project
//! makes itself: round trips, property tests, and hostile inputs made by patching a well-formed
//! hive at the offsets recorded in a [`Layout`].
//!
//! # Getting started
//! ```
//! use regnet_testkit::{write_hive_with_map, KeySpec, ValueSpec, WriterOptions};
//!
//! let root = KeySpec::new("ROOT").with_subkey(
//!     KeySpec::new("Select").with_value(ValueSpec::dword("Current", 1)),
//! );
//! let (hive, layout) = write_hive_with_map(&root, &WriterOptions::default());
//! assert_eq!(&hive[..4], b"regf");
//! let current = layout.key("\\Select").value("Current");
//! assert!(current.data.data_cell().is_none()); // 4 bytes: stored inline in the vk
//! ```
//!
//! ESXi snapshot disks (flat base, COWD and SEsparse deltas, descriptors) for the image reader's
//! tests: [`esxi`], proven by `qemu-img` in `tests/esxi_qemu.rs`.
//!
//! LVM2 physical volumes (label, PV header, metadata areas with their circular text buffers, VG
//! metadata text) for the image reader's LVM tests: [`lvm`], proven by `pvs`/`vgs`/`lvs` in
//! `regnet-image/tests/lvm_tools.rs`.
//!
//! Dirty hives: write a `before` and an `after` hive with the same options, then call
//! [`logs::new_format_logs`] or [`logs::old_format_log`].
#![forbid(unsafe_code)]

pub mod esxi;
pub mod example;
pub mod logs;
pub mod lvm;
pub mod strategies;
pub mod upcase;
pub mod writer;

pub use logs::{
    fix_hvle_hashes, marvin32, new_format_logs, old_format_log, DirtySet, LogEntryInfo, LogFile, LogSplit,
    HVLE_MARVIN32_SEED,
};
pub use upcase::{upcase_utf16, upcase_utf16_unit};
pub use writer::{
    fix_checksum, lf_hint, lh_hash, try_write_hive_with_map, write_hive, write_hive_with_map, xor32_checksum,
    BinLayout, DataLayout, KeyLayout, KeySpec, Layout, ListKind, Name, ValueLayout, ValueSpec, WriteError,
    WriterOptions,
};
