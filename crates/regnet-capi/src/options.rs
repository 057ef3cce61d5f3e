//! The options JSON of each entry point, parsed strictly: an unknown key or limit is an error that
//! names it.

use crate::error::Failure;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `{"partition", "volume", "disk", "logs", "allow_dirs", "container", "limits"}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ExtractJson {
    partition: Option<u32>,
    volume: Option<String>,
    disk: Option<String>,
    logs: Option<bool>,
    allow_dirs: Vec<PathBuf>,
    container: Option<regnet::ContainerFormat>,
    limits: BTreeMap<String, u64>,
}

/// `{"logs", "limits"}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct HiveJson {
    logs: Option<bool>,
    limits: BTreeMap<String, u64>,
}

/// `{"include_absent"}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct MapJson {
    include_absent: bool,
}

/// Parses `text` (`None` or `null`: the defaults).
fn parse<T: Default + for<'de> Deserialize<'de>>(text: Option<&str>) -> Result<T, Failure> {
    match text {
        None => Ok(T::default()),
        Some(t) => {
            let bad = |e: serde_json::Error| Failure::invalid(format!("options JSON: {e}"));
            // An object or null: serde would also read a struct from an array.
            match serde_json::from_str::<serde_json::Value>(t).map_err(bad)? {
                serde_json::Value::Null => Ok(T::default()),
                v @ serde_json::Value::Object(_) => serde_json::from_value(v).map_err(bad),
                _ => Err(Failure::invalid("options JSON: not an object")),
            }
        }
    }
}

fn set_limits(opts: &mut regnet::ExtractOptions, limits: &BTreeMap<String, u64>) -> Result<(), Failure> {
    for (name, value) in limits {
        opts.set_limit(name, *value).map_err(|e| match e {
            regnet::LimitError::Unknown(_) => Failure::invalid(format!(
                "options JSON: unknown limit {name:?}; known limits: {}",
                regnet::LIMIT_NAMES.join(", ")
            )),
            other => Failure::invalid(format!("options JSON: {other}")),
        })?;
    }
    Ok(())
}

/// The extraction options of `text`.
pub(crate) fn extract_options(text: Option<&str>) -> Result<regnet::ExtractOptions, Failure> {
    let j: ExtractJson = parse(text)?;
    let mut opts = regnet::ExtractOptions::default();
    opts.partition = j.partition;
    opts.volume = j.volume;
    opts.disk = j.disk;
    opts.hive.no_logs = !j.logs.unwrap_or(true);
    opts.allow_dirs = j.allow_dirs;
    opts.container = j.container;
    set_limits(&mut opts, &j.limits)?;
    Ok(opts)
}

/// The hive options of `text`. Limits of the other layers are accepted (the names are one list)
/// and have no effect on a hive.
pub(crate) fn hive_options(text: Option<&str>) -> Result<regnet::Options, Failure> {
    let j: HiveJson = parse(text)?;
    let mut all = regnet::ExtractOptions::default();
    set_limits(&mut all, &j.limits)?;
    let mut opts = all.hive;
    opts.no_logs = !j.logs.unwrap_or(true);
    Ok(opts)
}

/// The mapping options of `text`.
pub(crate) fn map_options(text: Option<&str>) -> Result<regnet_map::MapOptions, Failure> {
    let j: MapJson = parse(text)?;
    let mut opts = regnet_map::MapOptions::default();
    opts.include_absent = j.include_absent;
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::REGNET_INVALID_ARGUMENT;

    #[test]
    fn extract_options_are_read_and_strict() {
        let o = extract_options(Some(
            r#"{"partition": 2, "volume": "rl/root", "disk": "scsi0:0", "logs": false, "allow_dirs": ["/x"],
                "container": "vmdk", "limits": {"max_bytes_read": 67108864, "max_nics": 3}}"#,
        ))
        .unwrap();
        assert_eq!(o.partition, Some(2));
        assert_eq!(o.volume.as_deref(), Some("rl/root"));
        assert_eq!(o.disk.as_deref(), Some("scsi0:0"));
        assert!(o.hive.no_logs);
        assert_eq!(o.allow_dirs, [PathBuf::from("/x")]);
        assert_eq!(o.container, Some(regnet::ContainerFormat::Vmdk));
        assert_eq!((o.image_limits.max_bytes_read, o.vm_limits.max_nics), (64 << 20, 3));

        let d = extract_options(None).unwrap();
        assert!(!d.hive.no_logs && d.partition.is_none() && d.container.is_none());
        assert!(!extract_options(Some("null")).unwrap().hive.no_logs);
        assert!(!extract_options(Some("{}")).unwrap().hive.no_logs);

        let e = extract_options(Some(r#"{"partitoin": 2}"#)).unwrap_err();
        assert_eq!(e.status, REGNET_INVALID_ARGUMENT);
        assert!(e.message.contains("partitoin"), "{}", e.message);
        let e = extract_options(Some(r#"{"limits": {"max_everything": 1}}"#)).unwrap_err();
        assert_eq!(e.status, REGNET_INVALID_ARGUMENT);
        assert!(e.message.contains("\"max_everything\"") && e.message.contains("max_bytes_read"), "{}", e.message);
        let e = extract_options(Some(r#"{"limits": {"max_key_depth": 99999999999}}"#)).unwrap_err();
        assert!(e.message.contains("max_key_depth"), "{}", e.message);
        let e = extract_options(Some(r#"{"container": "iso"}"#)).unwrap_err();
        assert!(e.message.contains("iso"), "{}", e.message);
        assert!(extract_options(Some(r#"{"limits": {"max_nics": -1}}"#)).is_err());
        assert!(extract_options(Some("")).is_err());
        assert!(extract_options(Some("[1]")).is_err());
    }

    #[test]
    fn hive_and_map_options() {
        let h = hive_options(Some(r#"{"logs": false, "limits": {"max_hive_size": 4096}}"#)).unwrap();
        assert!(h.no_logs);
        assert_eq!(h.limits.max_hive_size, 4096);
        assert!(!hive_options(None).unwrap().no_logs);
        assert!(hive_options(Some(r#"{"partition": 1}"#)).unwrap_err().message.contains("partition"));
        assert!(map_options(Some(r#"{"include_absent": true}"#)).unwrap().include_absent);
        assert!(!map_options(None).unwrap().include_absent);
        assert!(map_options(Some(r#"{"include_absnt": true}"#)).unwrap_err().message.contains("include_absnt"));
    }
}
