//! VMware `.vmx` files: `key = "value"` lines.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::{
    canonical_mac, clip, warn, ConfigKind, DiskLocation, Result, VmConfig, VmConfigError, VmConfigLimits, VmDisk, VmNic,
};

/// One key's value and the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) value: String,
    pub(crate) line: u64,
}

/// The key/value dictionary of a `.vmx`, keys lower-cased.
#[derive(Debug, Default)]
pub(crate) struct Dict {
    pub(crate) map: HashMap<String, Entry>,
    pub(crate) warnings: Vec<String>,
}

impl Dict {
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(|e| e.value.as_str())
    }
}

/// Keys only a `.vmx` has (lower case), for detection.
const VMX_KEYS: &[&str] =
    &["config.version", "virtualhw.version", "displayname", "guestos", "memsize", "numvcpus", "nvram"];

fn key_char(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'=' | b'"' | b'#')
}

/// Whether the start of a file reads as a `.vmx`: every complete non-comment line is
/// `key = value` and some key is one a `.vmx` has.
pub(crate) fn looks_like_vmx(head: &[u8]) -> bool {
    let complete = match head.iter().rposition(|&b| b == b'\n') {
        Some(i) => head.get(..i).unwrap_or(head),
        None => head,
    };
    let mut known = false;
    for line in complete.split(|&b| b == b'\n') {
        let line = line.trim_ascii();
        if line.is_empty() || line.first() == Some(&b'#') {
            continue;
        }
        let Some(eq) = line.iter().position(|&b| b == b'=') else { return false };
        let key = line.get(..eq).unwrap_or_default().trim_ascii();
        if key.is_empty() || !key.iter().all(|&b| key_char(b)) {
            return false;
        }
        let key = String::from_utf8_lossy(key).to_ascii_lowercase();
        known |= VMX_KEYS.contains(&key.as_str())
            || key.starts_with("ethernet")
            || key.starts_with("scsi")
            || key.starts_with("sata");
    }
    known
}

/// Decodes `|XX` hex escapes; a `|` not followed by two hex digits stays as it is.
pub(crate) fn unescape(raw: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(raw.len());
    let mut odd = false;
    let mut i = 0usize;
    while let Some(&b) = raw.get(i) {
        if b == b'|' {
            let hex = raw.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            if let Some(v) = hex.and_then(|h| {
                if h.bytes().all(|c| c.is_ascii_hexdigit()) {
                    u8::from_str_radix(h, 16).ok()
                } else {
                    None
                }
            }) {
                out.push(v);
                i += 3;
                continue;
            }
            odd = true;
        }
        out.push(b);
        i += 1;
    }
    (out, odd)
}

/// Splits a `.vmx` into its dictionary. Lines that are not `key = value` are errors naming the line.
pub(crate) fn parse_dict(bytes: &[u8]) -> Result<Dict> {
    let mut raw: Vec<(String, Vec<u8>, u64)> = Vec::new();
    let mut dict = Dict::default();
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let line = line.trim_ascii();
        if line.is_empty() || line.first() == Some(&b'#') {
            continue;
        }
        let syntax = |expected| VmConfigError::VmxSyntax {
            line: line_no,
            found: clip(&String::from_utf8_lossy(line), 80),
            expected,
        };
        let eq = line.iter().position(|&b| b == b'=').ok_or_else(|| syntax("key = \"value\""))?;
        let key = line.get(..eq).unwrap_or_default().trim_ascii();
        if key.is_empty() || !key.iter().all(|&b| key_char(b)) {
            return Err(syntax("a key of printable ASCII without spaces, '=', '\"' or '#'"));
        }
        let key = String::from_utf8_lossy(key).to_ascii_lowercase();
        let rest = line.get(eq + 1..).unwrap_or_default().trim_ascii_start();
        let value: &[u8] = if let Some(quoted) = rest.strip_prefix(b"\"") {
            let end = quoted.iter().position(|&b| b == b'"').ok_or_else(|| syntax("a closing '\"'"))?;
            let after = quoted.get(end + 1..).unwrap_or_default().trim_ascii();
            if !after.is_empty() && after.first() != Some(&b'#') {
                warn(&mut dict.warnings, format!("vmx line {line_no}: text after the closing quote ignored"));
            }
            quoted.get(..end).unwrap_or_default()
        } else {
            // Unquoted: up to a comment.
            let end = rest.iter().position(|&b| b == b'#').unwrap_or(rest.len());
            rest.get(..end).unwrap_or_default().trim_ascii()
        };
        let (value, odd) = unescape(value);
        if odd {
            warn(&mut dict.warnings, format!("vmx line {line_no}: '|' not followed by two hex digits kept as is"));
        }
        raw.push((key, value, line_no));
    }
    // The encoding applies to the whole file, wherever the line is.
    let encoding = raw
        .iter()
        .rev()
        .find(|(k, _, _)| k == ".encoding")
        .map(|(_, v, _)| String::from_utf8_lossy(v).to_ascii_lowercase());
    let utf8 = encoding.as_deref().is_none_or(|e| matches!(e, "utf-8" | "utf8" | "us-ascii" | "ascii"));
    let mut latin1_noted = false;
    for (key, value, line) in raw {
        let value = match String::from_utf8(value) {
            Ok(s) => s,
            Err(e) if !utf8 => {
                if !latin1_noted {
                    latin1_noted = true;
                    warn(
                        &mut dict.warnings,
                        format!("vmx encoding {:?} decoded as Latin-1", encoding.as_deref().unwrap_or("")),
                    );
                }
                e.into_bytes().iter().map(|&b| b as char).collect()
            }
            Err(e) => {
                warn(&mut dict.warnings, format!("vmx line {line}: value is not UTF-8; bad bytes replaced"));
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }
        };
        if let Some(old) = dict.map.insert(key.clone(), Entry { value, line }) {
            warn(
                &mut dict.warnings,
                format!("vmx line {line}: {key} given again (first on line {}); the last one is used", old.line),
            );
        }
    }
    Ok(dict)
}

/// A VMware boolean: `TRUE`/`FALSE` in any case, `yes`/`no`, `on`/`off`, `1`/`0`.
pub(crate) fn vmx_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// A device number: decimal digits, no sign, no leading zero, at most 9 digits.
fn device_number(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

/// Disk buses, in the order their disks are listed.
const BUSES: [&str; 4] = ["scsi", "sata", "nvme", "ide"];

/// `scsi0:1.filename` → (bus index, 0, 1, "filename").
fn disk_key(key: &str) -> Option<(usize, u32, u32, &str)> {
    let (bus, rest) = BUSES.iter().enumerate().find_map(|(i, b)| key.strip_prefix(b).map(|r| (i, r)))?;
    let (ctrl, rest) = rest.split_once(':')?;
    let (unit, field) = rest.split_once('.')?;
    Some((bus, device_number(ctrl)?, device_number(unit)?, field))
}

/// `ethernet3.present` → (3, "present").
fn nic_key(key: &str) -> Option<(u32, &str)> {
    let rest = key.strip_prefix("ethernet")?;
    let (n, field) = rest.split_once('.')?;
    Some((device_number(n)?, field))
}

const CDROM_TYPES: &[&str] = &["cdrom-image", "atapi-cdrom", "cdrom-raw"];
const DISK_TYPES: &[&str] = &["scsi-harddisk", "disk", "ata-harddisk"];

pub(crate) fn parse(bytes: &[u8], limits: &VmConfigLimits) -> Result<VmConfig> {
    let dict = parse_dict(bytes)?;
    let mut vm = VmConfig::new(ConfigKind::Vmx, "vmware");
    vm.warnings = dict.warnings.clone();
    vm.name = dict.get("displayname").map(str::to_owned);
    vm.guest_os = dict.get("guestos").map(str::to_owned);

    let mut disk_slots = BTreeSet::new();
    let mut nic_slots = BTreeSet::new();
    for key in dict.map.keys() {
        if let Some((bus, ctrl, unit, _)) = disk_key(key) {
            disk_slots.insert((bus, ctrl, unit));
        } else if let Some((n, _)) = nic_key(key) {
            nic_slots.insert(n);
        }
    }

    // Disks: present, not a CD-ROM, with a file name.
    let mut disks = BTreeMap::new();
    for &(bus, ctrl, unit) in &disk_slots {
        let bus_name = BUSES.get(bus).copied().unwrap_or("disk");
        let dev = format!("{bus_name}{ctrl}:{unit}");
        let field = |f: &str| dict.get(&format!("{dev}.{f}"));
        let present = field("present");
        match present.map(|p| (p, vmx_bool(p))) {
            Some((_, Some(true))) => {}
            Some((_, Some(false))) | None => continue,
            Some((p, None)) => {
                warn(&mut vm.warnings, format!("{dev}.present = {:?} is not a boolean; device skipped", clip(p, 40)));
                continue;
            }
        }
        if let Some(cp) = dict.get(&format!("{bus_name}{ctrl}.present")) {
            if vmx_bool(cp) != Some(true) {
                warn(
                    &mut vm.warnings,
                    format!("{dev} is on controller {bus_name}{ctrl}, which is not present; skipped"),
                );
                continue;
            }
        }
        let dtype = field("devicetype").map(|t| t.trim().to_ascii_lowercase());
        if let Some(t) = &dtype {
            if CDROM_TYPES.contains(&t.as_str()) {
                continue;
            }
            if !DISK_TYPES.contains(&t.as_str()) {
                warn(&mut vm.warnings, format!("{dev} has deviceType {:?}, not a disk file; skipped", clip(t, 40)));
                continue;
            }
        }
        match field("filename") {
            Some(name) if !name.trim().is_empty() => {
                disks.insert((bus, ctrl, unit), VmDisk { device: dev, location: DiskLocation::File(name.to_owned()) });
            }
            _ => warn(&mut vm.warnings, format!("{dev} is present but names no file; skipped")),
        }
    }
    VmConfigLimits::check("max_disks", disks.len() as u64, limits.max_disks as u64)?;
    vm.disks = disks.into_values().collect();

    // NICs: present ones, by number.
    let present: Vec<u32> = nic_slots
        .into_iter()
        .filter(|n| dict.get(&format!("ethernet{n}.present")).and_then(vmx_bool) == Some(true))
        .collect();
    VmConfigLimits::check("max_nics", present.len() as u64, limits.max_nics as u64)?;
    for n in present {
        let label = format!("ethernet{n}");
        let field = |f: &str| dict.get(&format!("{label}.{f}")).map(str::trim).filter(|v| !v.is_empty());
        let address_type = field("addresstype").map(str::to_ascii_lowercase);
        let raw_mac = match address_type.as_deref() {
            Some("static") => field("address"),
            Some("generated" | "vpx") => field("generatedaddress"),
            Some(other) => {
                warn(&mut vm.warnings, format!("{label}.addressType {:?} unknown", clip(other, 40)));
                field("address").or_else(|| field("generatedaddress"))
            }
            None => field("generatedaddress").or_else(|| field("address")),
        };
        let mac = raw_mac.and_then(|m| {
            let c = canonical_mac(m);
            if c.is_none() {
                warn(&mut vm.warnings, format!("{label}: MAC {:?} is not a MAC address", clip(m, 40)));
            }
            c
        });
        if raw_mac.is_none() {
            warn(&mut vm.warnings, format!("{label} has no MAC address yet"));
        }
        let network = field("networkname")
            .or_else(|| field("dvs.portgroupid"))
            .or_else(|| field("vnet"))
            .or_else(|| field("connectiontype"))
            .map(str::to_owned);
        let device = field("virtualdev").map(|d| d.to_ascii_lowercase());
        vm.nics.push(VmNic { label, mac, network, vlan: None, device });
    }
    Ok(vm)
}
