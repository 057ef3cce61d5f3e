//! `--limit NAME=VALUE`: every resource limit of the library, settable from the command line.

use crate::CliError;
use regnet::ExtractOptions;

/// The names `--limit` accepts, with what they bound (for `--help` and errors).
pub const NAMES: &str = "hive: max_hive_size, max_log_size, max_value_size, max_cells_visited, max_data_read, \
max_key_depth, max_ri_depth; image: max_table_bytes, max_header_bytes, max_unit_bytes, max_inflated_bytes, \
max_partitions, max_chain_depth, max_ntfs_records, max_file_bytes, max_bytes_read, max_lvm_metadata_bytes, \
max_lvm_segments, max_ext4_read_bytes, max_ext4_dir_bytes, max_segments; VM configuration: \
max_config_bytes, max_nics, max_disks, max_xml_depth, max_xml_nodes, max_xml_attributes, max_xml_namespaces, \
max_vmx_entries, max_archive_members";

/// `123`, `64K`, `16M`, `2G` (binary multiples).
fn parse_size(v: &str) -> Option<u64> {
    let v = v.trim();
    let (num, shift) = match v.chars().last()?.to_ascii_uppercase() {
        'K' => (&v[..v.len() - 1], 10),
        'M' => (&v[..v.len() - 1], 20),
        'G' => (&v[..v.len() - 1], 30),
        _ => (v, 0),
    };
    num.trim().parse::<u64>().ok()?.checked_mul(1u64 << shift)
}

/// Applies `NAME=VALUE` settings to the hive, image and VM configuration limits.
pub fn apply(settings: &[String], opts: &mut ExtractOptions) -> Result<(), CliError> {
    for s in settings {
        let (name, value) = s.split_once('=').ok_or_else(|| CliError(format!("--limit {s:?}: expected NAME=VALUE")))?;
        let n = parse_size(value)
            .ok_or_else(|| CliError(format!("--limit {s:?}: {value:?} is not a number (K, M, G suffixes allowed)")))?;
        opts.set_limit(name.trim(), n).map_err(|e| match e {
            regnet::LimitError::Unknown(other) => CliError(format!("--limit: unknown limit {other:?}; known: {NAMES}")),
            _ => CliError(format!("--limit {s:?}: too large")),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_list_every_limit() {
        for name in regnet::LIMIT_NAMES {
            assert!(NAMES.contains(name), "{name} missing from NAMES");
        }
    }

    #[test]
    fn sizes_and_names() {
        assert_eq!(parse_size("64K"), Some(65536));
        assert_eq!(parse_size("2g"), Some(2 << 30));
        assert_eq!(parse_size("x"), None);
        let mut o = ExtractOptions::default();
        apply(&["max_hive_size=16M".into(), "max_partitions=8".into(), "max_nics=16".into()], &mut o).unwrap();
        assert_eq!(
            (o.hive.limits.max_hive_size, o.image_limits.max_partitions, o.vm_limits.max_nics),
            (16 << 20, 8, 16)
        );
        assert!(apply(&["nope=1".into()], &mut o).is_err());
        assert!(apply(&["max_key_depth=99999999999".into()], &mut o).is_err());
    }
}
