//! Caller-settable resource limits.

use serde::{Deserialize, Serialize};

/// Bounds on the memory and work one hive may cost.
///
/// Every limit is checked before the allocation or loop it guards, and
/// hitting one is a [`HiveError::LimitExceeded`](crate::HiveError::LimitExceeded)
/// that names the field. The defaults are generous for real Windows hives
/// (a large SYSTEM hive is 20–100 MiB) and small enough that a crafted file
/// cannot exhaust a backup server.
///
/// ```
/// let mut limits = regnet_hive::Limits::default();
/// limits.max_hive_size = 64 << 20; // this server never sees larger SYSTEM hives
/// assert_eq!(limits.max_key_depth, 512);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Limits {
    /// Largest primary hive file accepted, and largest hive a replay may grow to (bytes).
    pub max_hive_size: u64,
    /// Largest transaction log file accepted (bytes).
    pub max_log_size: u64,
    /// Largest value data assembled in memory (bytes). Big-data values are copied; smaller ones are borrowed.
    pub max_value_size: u64,
    /// Most cells one open hive may visit over its lifetime, counted when a subkey or value list
    /// is opened (one per element) and when big data is joined (one per segment). Bounds the work
    /// a crafted hive can cause by sharing lists among many keys.
    pub max_cells_visited: u64,
    /// Most value-data bytes one open hive may hand out over its lifetime.
    pub max_data_read: u64,
    /// Deepest key nesting followed by a walk or a path lookup (Windows allows 512 levels).
    pub max_key_depth: u32,
    /// How many `ri` (index root) levels a subkey list may nest. The format allows 1: an `ri` points only to leaves.
    pub max_ri_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_hive_size: 512 << 20,
            max_log_size: 256 << 20,
            max_value_size: 64 << 20,
            max_cells_visited: 50_000_000,
            max_data_read: 4 << 30,
            max_key_depth: 512,
            max_ri_depth: 1,
        }
    }
}

impl Limits {
    /// Returns `Err(LimitExceeded)` when `value > max`.
    pub(crate) fn check(limit: &'static str, value: u64, max: u64) -> crate::Result<()> {
        if value > max {
            Err(crate::HiveError::LimitExceeded { limit, value, max })
        } else {
            Ok(())
        }
    }
}
