//! Ghost adapters: was each adapter's device present, judged from what the hive records about the
//! device itself (`docs/presence.md` has the evidence from real hives behind these rules).
//!
//! The device class entry (`Control\Class\{4D36E972-…}\NNNN`) names the adapter's device instance
//! (`DeviceInstanceID`, Windows 7 and later; else the connection key's `PnpInstanceID`). Under
//! `Enum\<instance>`:
//! - a missing instance means the device is gone: absent;
//! - on Windows 8 and later, `Properties\{83da6326-97a6-4088-9453-a1923f573b29}\0066` and `\0067`
//!   (DEVPKEY_Device_LastArrivalDate = 102, LastRemovalDate = 103) hold FILETIMEs as the key's
//!   default value, registry type `0xFFFF0010` (0xFFFF0000 | DEVPROP_TYPE_FILETIME): a removal
//!   after the last arrival means absent, an arrival at or after the removal (or no removal) present;
//! - with neither time (Windows 7 and older) the hive does not tell: unknown.
//!
//! Any malformed value is a warning and leaves the answer unknown.

use crate::read::{canonical_guid, Reader};
use crate::report::{Adapter, Presence, PresenceSource};
use regnet_hive::{FileTime, HiveError, Key};

/// The network adapter device class.
const NET_CLASS: &str = "{4D36E972-E325-11CE-BFC1-08002BE10318}";
/// The property set of DEVPKEY_Device_LastArrivalDate (102) and LastRemovalDate (103).
const DEVICE_PROPS: &str = "{83da6326-97a6-4088-9453-a1923f573b29}";
const LAST_ARRIVAL: &str = "0066";
const LAST_REMOVAL: &str = "0067";
/// A device property value's registry type: 0xFFFF0000 | DEVPROP_TYPE_FILETIME (0x10).
const REG_DEVPROP_FILETIME: u32 = 0xFFFF_0010;
/// MAX_DEVICE_ID_LEN (cfgmgr32.h): no real device instance ID is longer.
const MAX_DEVICE_ID_LEN: usize = 200;
/// Plausible device times: 1980-01-01 to 2200-01-01 (Unix seconds). Windows 8, the first to
/// record them, is from 2012; the margin allows a VM with a wrong clock.
const TIME_MIN: i64 = 315_532_800;
const TIME_MAX: i64 = 7_258_118_400;

/// Marks every adapter present, absent or unknown from its device instance.
pub(crate) fn mark_adapters(r: &mut Reader, cs: &Key<'_>, cs_name: &str, adapters: &mut [Adapter]) {
    let enum_path = format!("{cs_name}\\Enum");
    // No Enum key (a hive cut down by hand or by damage): there is no device to check at all.
    let enum_key = match cs.subkey("Enum") {
        Ok(Some(k)) => k,
        Ok(None) => return,
        Err(e) => {
            r.warn("unreadable_key", format!("could not be read: {e}; presence unknown"), Some(&enum_path), None);
            return;
        }
    };
    for a in adapters.iter_mut() {
        let Some(index) = a.class_index.clone() else { continue };
        let Some(instance) = device_instance(r, cs, cs_name, &index, &a.guid) else { continue };
        let (present, mut p) = judge(r, &enum_key, &enum_path, &instance, &index);
        p.device_instance = Some(instance);
        p.hive_present = present;
        a.present = present;
        a.presence = Some(p);
    }
}

/// The device instance ID the adapter's class entry (else its connection key) names, checked to
/// be `enumerator\device\instance`.
fn device_instance(r: &mut Reader, cs: &Key<'_>, cs_name: &str, index: &str, guid: &str) -> Option<String> {
    let class_rel = format!("Control\\Class\\{NET_CLASS}\\{index}");
    let class_path = format!("{cs_name}\\{class_rel}");
    let mut found = sub(r, cs, &class_rel, &class_path)
        .and_then(|k| r.string(&k, &class_path, "DeviceInstanceID"))
        .map(|id| (id, class_path, "DeviceInstanceID"));
    if found.is_none() {
        let conn_rel = format!("Control\\Network\\{NET_CLASS}\\{}\\Connection", canonical_guid(guid));
        let conn_path = format!("{cs_name}\\{conn_rel}");
        // Quietly: the adapter's own reading of this key already warned if it is damaged.
        found = cs
            .subpath(&conn_rel)
            .ok()
            .and_then(|k| r.string(&k, &conn_path, "PnpInstanceID"))
            .map(|id| (id, conn_path, "PnpInstanceID"));
    }
    let (id, path, value) = found?;
    let parts: Vec<&str> = id.split('\\').collect();
    let well_formed = id.chars().count() <= MAX_DEVICE_ID_LEN
        && parts.len() == 3
        && parts.iter().all(|p| !p.is_empty() && *p != "." && *p != ".." && !p.chars().any(char::is_control));
    if !well_formed {
        let shown: String = id.chars().take(80).collect();
        r.warn(
            "bad_value",
            format!("{shown:?} is not a device instance ID (enumerator\\device\\instance); presence unknown"),
            Some(&path),
            Some(value),
        );
        return None;
    }
    Some(id)
}

/// Present, absent or unknown from the instance key under Enum, with the facts found.
fn judge(r: &mut Reader, enum_key: &Key<'_>, enum_path: &str, instance: &str, index: &str) -> (Option<bool>, Presence) {
    let mut p = Presence { source: PresenceSource::DeviceInstance, ..Presence::default() };
    let path = format!("{enum_path}\\{instance}");
    let inst = match enum_key.subpath(instance) {
        Ok(k) => k,
        Err(HiveError::KeyNotFound { .. }) => return (Some(false), p),
        Err(e) => {
            r.warn("unreadable_key", format!("could not be read: {e}; presence unknown"), Some(&path), None);
            return (None, p);
        }
    };
    // The instance must point back at this class entry; otherwise it belongs to another adapter.
    if let Some(driver) = r.string(&inst, &path, "Driver") {
        let want = format!("{NET_CLASS}\\{index}");
        if !driver.eq_ignore_ascii_case(&want) {
            r.warn(
                "device_instance_mismatch",
                format!("the device instance belongs to {driver:?}, not {want}; presence unknown"),
                Some(&path),
                Some("Driver"),
            );
            return (None, p);
        }
    }
    let props_rel = format!("Properties\\{DEVICE_PROPS}");
    let props_path = format!("{path}\\{props_rel}");
    let Some(props) = sub(r, &inst, &props_rel, &props_path) else { return (None, p) };
    let arrival = device_time(r, &props, &props_path, LAST_ARRIVAL);
    let removal = device_time(r, &props, &props_path, LAST_REMOVAL);
    let (Ok(arrival), Ok(removal)) = (arrival, removal) else {
        // A malformed time: report the good one, decide nothing.
        p.source = PresenceSource::DeviceTimes;
        p.last_arrival = arrival.ok().flatten().map(|t| t.to_string());
        p.last_removal = removal.ok().flatten().map(|t| t.to_string());
        return (None, p);
    };
    if arrival.is_none() && removal.is_none() {
        return (None, p);
    }
    p.source = PresenceSource::DeviceTimes;
    p.last_arrival = arrival.map(|t| t.to_string());
    p.last_removal = removal.map(|t| t.to_string());
    let present = match (arrival, removal) {
        (Some(a), Some(rm)) => a >= rm,
        (_, None) => true,
        (None, Some(_)) => false,
    };
    (Some(present), p)
}

/// One FILETIME device property (`props\<pid>`, default value): `Ok(None)` when not recorded,
/// `Err` (after a warning) when malformed.
fn device_time(r: &mut Reader, props: &Key<'_>, props_path: &str, pid: &str) -> Result<Option<FileTime>, ()> {
    let path = format!("{props_path}\\{pid}");
    let Some(k) = sub(r, props, pid, &path) else { return Ok(None) };
    // An empty key (no value) is what Windows leaves when the property was cleared.
    let Some(v) = r.value(&k, &path, "") else { return Ok(None) };
    let bad = |r: &mut Reader, msg: String| {
        r.warn("bad_device_property", format!("{msg}; presence unknown"), Some(&path), Some("(default)"));
        Err(())
    };
    if v.raw_type() != REG_DEVPROP_FILETIME {
        return bad(
            r,
            format!("type {:#x}, expected {REG_DEVPROP_FILETIME:#x} (a FILETIME device property)", v.raw_type()),
        );
    }
    if v.data_len() != 8 {
        return bad(r, format!("{} bytes, expected an 8-byte FILETIME", v.data_len()));
    }
    let d = match v.data() {
        Ok(d) => d,
        Err(e) => {
            r.warn(
                "unreadable_value",
                format!("data could not be read: {e}; presence unknown"),
                Some(&path),
                Some("(default)"),
            );
            return Err(());
        }
    };
    let Ok(b) = <[u8; 8]>::try_from(&d[..]) else {
        return bad(r, format!("{} bytes, expected an 8-byte FILETIME", d.len()));
    };
    let t = FileTime(u64::from_le_bytes(b));
    if !(TIME_MIN..TIME_MAX).contains(&t.unix_seconds()) {
        return bad(r, format!("FILETIME {:#018x} is not a time between 1980 and 2200", t.0));
    }
    Ok(Some(t))
}

/// A subkey by relative path; damage on the way is a warning and reads as absent.
fn sub<'h>(r: &mut Reader, key: &Key<'h>, rel: &str, full: &str) -> Option<Key<'h>> {
    match key.subpath(rel) {
        Ok(k) => Some(k),
        Err(HiveError::KeyNotFound { .. }) => None,
        Err(e) => {
            r.warn("unreadable_key", format!("could not be read: {e}"), Some(full), None);
            None
        }
    }
}
