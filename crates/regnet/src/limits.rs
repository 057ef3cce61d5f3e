//! Every resource limit of the library by name, so that callers that are not Rust (the C ABI's
//! JSON options, the Python module's `limits=` mapping, the CLI's `--limit NAME=VALUE`) set them
//! the same way.

use crate::ExtractOptions;

/// The names [`ExtractOptions::set_limit`] accepts, grouped by layer.
pub const LIMIT_NAMES: &[&str] = &[
    // hive
    "max_hive_size",
    "max_log_size",
    "max_value_size",
    "max_cells_visited",
    "max_data_read",
    "max_key_depth",
    "max_ri_depth",
    // image
    "max_table_bytes",
    "max_header_bytes",
    "max_unit_bytes",
    "max_inflated_bytes",
    "max_partitions",
    "max_chain_depth",
    "max_ntfs_records",
    "max_file_bytes",
    "max_bytes_read",
    "max_lvm_metadata_bytes",
    "max_lvm_segments",
    "max_ext4_read_bytes",
    "max_ext4_dir_bytes",
    "max_segments",
    // VM configuration
    "max_config_bytes",
    "max_nics",
    "max_disks",
    "max_xml_depth",
    "max_xml_nodes",
    "max_xml_attributes",
    "max_xml_namespaces",
    "max_vmx_entries",
    "max_archive_members",
];

/// Why a limit could not be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// No limit has this name ([`LIMIT_NAMES`] lists them).
    #[error("unknown limit {0:?}")]
    Unknown(String),
    /// The value does not fit the limit's type (a depth or count limit is 32-bit).
    #[error("limit {name}: {value} is too large")]
    TooLarge {
        /// The limit.
        name: String,
        /// The value given.
        value: u64,
    },
}

impl ExtractOptions {
    /// Sets the resource limit called `name` (one of [`LIMIT_NAMES`]) to `value`, in whichever
    /// layer it belongs to (hive, image, VM configuration).
    ///
    /// ```
    /// let mut opts = regnet::ExtractOptions::default();
    /// opts.set_limit("max_bytes_read", 64 << 20)?;
    /// opts.set_limit("max_nics", 16)?;
    /// assert_eq!(opts.image_limits.max_bytes_read, 64 << 20);
    /// assert!(opts.set_limit("max_everything", 1).is_err());
    /// # Ok::<(), regnet::LimitError>(())
    /// ```
    pub fn set_limit(&mut self, name: &str, value: u64) -> Result<(), LimitError> {
        let too_large = || LimitError::TooLarge { name: name.to_string(), value };
        let small = |n: u64| u32::try_from(n).map_err(|_| too_large());
        let count = |n: u64| usize::try_from(n).map_err(|_| too_large());
        let (hive, image, vm) = (&mut self.hive.limits, &mut self.image_limits, &mut self.vm_limits);
        match name {
            "max_hive_size" => hive.max_hive_size = value,
            "max_log_size" => hive.max_log_size = value,
            "max_value_size" => hive.max_value_size = value,
            "max_cells_visited" => hive.max_cells_visited = value,
            "max_data_read" => hive.max_data_read = value,
            "max_key_depth" => hive.max_key_depth = small(value)?,
            "max_ri_depth" => hive.max_ri_depth = small(value)?,
            "max_table_bytes" => image.max_table_bytes = value,
            "max_header_bytes" => image.max_header_bytes = value,
            "max_unit_bytes" => image.max_unit_bytes = value,
            "max_inflated_bytes" => image.max_inflated_bytes = value,
            "max_partitions" => image.max_partitions = small(value)?,
            "max_chain_depth" => image.max_chain_depth = small(value)?,
            "max_ntfs_records" => image.max_ntfs_records = small(value)?,
            "max_file_bytes" => image.max_file_bytes = value,
            "max_bytes_read" => image.max_bytes_read = value,
            "max_lvm_metadata_bytes" => image.max_lvm_metadata_bytes = value,
            "max_lvm_segments" => image.max_lvm_segments = small(value)?,
            "max_ext4_read_bytes" => image.max_ext4_read_bytes = value,
            "max_ext4_dir_bytes" => image.max_ext4_dir_bytes = value,
            "max_segments" => image.max_segments = small(value)?,
            "max_config_bytes" => vm.max_config_bytes = value,
            "max_nics" => vm.max_nics = count(value)?,
            "max_disks" => vm.max_disks = count(value)?,
            "max_xml_depth" => vm.max_xml_depth = count(value)?,
            "max_xml_nodes" => vm.max_xml_nodes = count(value)?,
            "max_xml_attributes" => vm.max_xml_attributes = count(value)?,
            "max_xml_namespaces" => vm.max_xml_namespaces = count(value)?,
            "max_vmx_entries" => vm.max_vmx_entries = count(value)?,
            "max_archive_members" => vm.max_archive_members = count(value)?,
            other => return Err(LimitError::Unknown(other.to_string())),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_settable_and_others_are_not() {
        let mut o = ExtractOptions::default();
        for name in LIMIT_NAMES {
            o.set_limit(name, 7).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert_eq!(
            (o.hive.limits.max_ri_depth, o.image_limits.max_lvm_segments, o.vm_limits.max_archive_members),
            (7, 7, 7)
        );
        assert_eq!(o.set_limit("nope", 1), Err(LimitError::Unknown("nope".into())));
        assert!(matches!(o.set_limit("max_key_depth", u64::MAX), Err(LimitError::TooLarge { .. })));
    }
}
