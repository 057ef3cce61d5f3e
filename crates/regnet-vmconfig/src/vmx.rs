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
pub(crate) fn parse_dict(bytes: &[u8], limits: &VmConfigLimits) -> Result<Dict> {
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
        VmConfigLimits::check("max_vmx_entries", raw.len() as u64 + 1, limits.max_vmx_entries as u64)?;
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
    let dict = parse_dict(bytes, limits)?;
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

#[cfg(test)]
#[allow(clippy::type_complexity)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vmx(text: &str) -> VmConfig {
        parse(text.as_bytes(), &VmConfigLimits::default()).unwrap()
    }

    #[test]
    fn unescapes_hex_and_keeps_odd_bars() {
        assert_eq!(unescape(b"a|22b|7Cc|23d|0A"), (b"a\"b|c#d\n".to_vec(), false));
        assert_eq!(unescape(b"|7c|7C"), (b"||".to_vec(), false));
        assert_eq!(unescape(b"x|G1|2"), (b"x|G1|2".to_vec(), true));
        assert_eq!(unescape(b"|"), (b"|".to_vec(), true));
        assert_eq!(unescape(b"|+1"), (b"|+1".to_vec(), true));
    }

    #[test]
    fn dictionary_syntax() {
        let d = parse_dict(
            b"\xef\xbb\xbf# comment\r\n\r\n.encoding = \"UTF-8\"\r\nKey.One=\"v1\" # trailing comment\n  key.two  =  bare value # c\nkey.three = \"x\" junk\nkey.one = \"v2\"\nempty = \"\"\n",
            &VmConfigLimits::default(),
        )
        .unwrap();
        assert_eq!(d.get("key.one"), Some("v2"));
        assert_eq!(d.get("key.two"), Some("bare value"));
        assert_eq!(d.get("key.three"), Some("x"));
        assert_eq!(d.get("empty"), Some(""));
        assert_eq!(d.map["key.one"].line, 7);
        assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
        assert!(d.warnings[0].contains("line 6"));
        assert!(d.warnings[1].contains("given again"));
    }

    #[test]
    fn dictionary_errors_name_the_line() {
        for (text, line, expected) in [
            ("a = \"1\"\nno equals sign\n", 2, "key = \"value\""),
            ("\n\n = \"1\"\n", 3, "a key"),
            ("bad key = \"1\"\n", 1, "a key"),
            ("k = \"unterminated\n", 1, "a closing"),
            ("k\"x = \"1\"\n", 1, "a key"),
        ] {
            match parse_dict(text.as_bytes(), &VmConfigLimits::default()) {
                Err(VmConfigError::VmxSyntax { line: l, expected: e, .. }) => {
                    assert_eq!(l, line, "{text:?}");
                    assert!(e.starts_with(expected), "{text:?}: {e}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
        let e = parse_dict(b"x\n", &VmConfigLimits::default()).unwrap_err().to_string();
        assert!(e.contains("vmx line 1"), "{e}");
    }

    #[test]
    fn encodings() {
        // Non-UTF-8 in a UTF-8 file: replaced, with a warning.
        let d = parse_dict(b".encoding = \"UTF-8\"\ndisplayName = \"caf\xe9\"\n", &VmConfigLimits::default()).unwrap();
        assert_eq!(d.get("displayname"), Some("caf\u{fffd}"));
        assert!(d.warnings[0].contains("not UTF-8"));
        // A legacy encoding: read as Latin-1, wherever the .encoding line is.
        let d = parse_dict(
            b"displayName = \"caf\xe9\"\n.encoding = \"windows-1252\"\nb = \"\xfc\"\n",
            &VmConfigLimits::default(),
        )
        .unwrap();
        assert_eq!(d.get("displayname"), Some("café"));
        assert_eq!(d.get("b"), Some("ü"));
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        // No .encoding: UTF-8.
        assert_eq!(
            parse_dict("n = \"Zürich\"".as_bytes(), &VmConfigLimits::default()).unwrap().get("n"),
            Some("Zürich")
        );
    }

    #[test]
    fn booleans() {
        for t in ["TRUE", "true", "True", "yes", "on", "1", " TRUE "] {
            assert_eq!(vmx_bool(t), Some(true), "{t}");
        }
        for f in ["FALSE", "false", "no", "off", "0"] {
            assert_eq!(vmx_bool(f), Some(false), "{f}");
        }
        assert_eq!(vmx_bool("maybe"), None);
    }

    #[test]
    fn disks_in_controller_then_unit_order() {
        let vm = vmx(r#"
ide0:0.present = "TRUE"
ide0:0.fileName = "ide.vmdk"
nvme0.present = "TRUE"
nvme0:0.present = "TRUE"
nvme0:0.fileName = "nvme.vmdk"
sata0:0.present = "yes"
sata0:0.fileName = "sata.vmdk"
sata0:0.deviceType = "ata-hardDisk"
scsi1:0.present = "TRUE"
scsi1:0.fileName = "s10.vmdk"
scsi0:10.present = "TRUE"
scsi0:10.fileName = "s0-10.vmdk"
scsi0:2.present = "TRUE"
scsi0:2.fileName = "s0-2.vmdk"
scsi0:2.deviceType = "disk"
"#);
        let order: Vec<&str> = vm.disks.iter().map(|d| d.device.as_str()).collect();
        assert_eq!(order, ["scsi0:2", "scsi0:10", "scsi1:0", "sata0:0", "nvme0:0", "ide0:0"]);
        assert!(vm.warnings.is_empty(), "{:?}", vm.warnings);
    }

    #[test]
    fn skipped_devices() {
        let vm = vmx(r#"
ide1:0.present = "TRUE"
ide1:0.deviceType = "atapi-cdrom"
ide1:0.fileName = "auto detect"
sata0:1.present = "TRUE"
sata0:1.deviceType = "cdrom-raw"
sata0:1.fileName = "/dev/cdrom"
scsi0:1.present = "FALSE"
scsi0:1.fileName = "gone.vmdk"
scsi0:2.fileName = "never-present.vmdk"
scsi0:3.present = "TRUE"
scsi0:3.deviceType = "scsi-passthru"
scsi0:3.fileName = "/vmfs/devices/genscsi/naa.1"
scsi0:4.present = "TRUE"
scsi0:5.present = "maybe"
scsi0:5.fileName = "x.vmdk"
scsi1.present = "FALSE"
scsi1:0.present = "TRUE"
scsi1:0.fileName = "orphan.vmdk"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "/etc/shadow"
scsi0:6.present = "TRUE"
scsi0:6.fileName = "../x"
scsi01:0.present = "TRUE"
scsi01:0.fileName = "leading-zero.vmdk"
scsi9999999999:0.present = "TRUE"
"#);
        assert_eq!(
            vm.disks,
            [
                VmDisk { device: "scsi0:0".into(), location: DiskLocation::File("/etc/shadow".into()) },
                VmDisk { device: "scsi0:6".into(), location: DiskLocation::File("../x".into()) },
            ]
        );
        let w = vm.warnings.join("\n");
        for needle in [
            "scsi0:3 has deviceType",
            "scsi0:4 is present but names no file",
            "scsi0:5.present",
            "scsi1:0 is on controller scsi1",
        ] {
            assert!(w.contains(needle), "{needle} in {w}");
        }
    }

    #[test]
    fn nics() {
        let vm = vmx(r#"
ethernet10.present = "TRUE"
ethernet10.addressType = "vpx"
ethernet10.generatedAddress = "00:50:56:aa:bb:0a"
ethernet10.dvs.portgroupId = "dvportgroup-1042"
ethernet2.present = "TRUE"
ethernet2.addressType = "static"
ethernet2.address = "00-0C-29-01-02-03"
ethernet2.generatedAddress = "00:0c:29:ff:ff:ff"
ethernet2.vnet = "vmnet8"
ethernet2.virtualDev = "E1000E"
ethernet1.present = "TRUE"
ethernet1.connectionType = "nat"
ethernet1.generatedAddress = "00:0c:29:11:22:33"
ethernet3.present = "TRUE"
ethernet3.addressType = "weird"
ethernet3.address = "not a mac"
ethernet4.present = "TRUE"
ethernet4.networkName = ""
ethernet5.present = "FALSE"
ethernet5.networkName = "off"
ethernet06.present = "TRUE"
"#);
        let got: Vec<(&str, Option<&str>, Option<&str>, Option<&str>)> = vm
            .nics
            .iter()
            .map(|n| (n.label.as_str(), n.mac.as_deref(), n.network.as_deref(), n.device.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("ethernet1", Some("00:0C:29:11:22:33"), Some("nat"), None),
                ("ethernet2", Some("00:0C:29:01:02:03"), Some("vmnet8"), Some("e1000e")),
                ("ethernet3", None, None, None),
                ("ethernet4", None, None, None),
                ("ethernet10", Some("00:50:56:AA:BB:0A"), Some("dvportgroup-1042"), None),
            ]
        );
        let w = vm.warnings.join("\n");
        for needle in ["ethernet3.addressType", "ethernet3: MAC", "ethernet4 has no MAC"] {
            assert!(w.contains(needle), "{needle} in {w}");
        }
    }

    #[test]
    fn detection() {
        assert!(looks_like_vmx(b".encoding = \"UTF-8\"\nconfig.version = \"8\"\n"));
        assert!(looks_like_vmx(b"# c\nethernet0.present = \"TRUE\"\nscsi0:0.fileName = \"a.vmdk"));
        assert!(!looks_like_vmx(b".encoding = \"UTF-8\"\nsnapshot.lastUID = \"1\"\n"));
        assert!(!looks_like_vmx(b"displayName = \"x\"\nnot a line\n"));
        assert!(!looks_like_vmx(b"bad key = \"x\"\n"));
        assert!(!looks_like_vmx(b""));
    }

    #[test]
    fn many_nics_and_disks_hit_the_limits() {
        let mut text = String::new();
        for n in 0..10_000 {
            text.push_str(&format!(
                "ethernet{n}.present = \"TRUE\"\nethernet{n}.address = \"00:50:56:00:{:02x}:{:02x}\"\n",
                n >> 8,
                n & 255
            ));
        }
        let err = parse(text.as_bytes(), &VmConfigLimits::default()).unwrap_err();
        assert!(matches!(err, VmConfigError::LimitExceeded { limit: "max_nics", value: 10_000, max: 4096 }), "{err}");
        let limits = VmConfigLimits { max_nics: 10_000, ..Default::default() };
        let vm = parse(text.as_bytes(), &limits).unwrap();
        assert_eq!(vm.nics.len(), 10_000);
        assert_eq!(vm.nics[9_999].mac.as_deref(), Some("00:50:56:00:27:0F"));

        let mut text = String::new();
        for n in 0..5000 {
            text.push_str(&format!(
                "scsi{}:{}.present = \"TRUE\"\nscsi{}:{}.fileName = \"d{n}.vmdk\"\n",
                n / 16,
                n % 16,
                n / 16,
                n % 16
            ));
        }
        let err = parse(text.as_bytes(), &VmConfigLimits::default()).unwrap_err();
        assert!(matches!(err, VmConfigError::LimitExceeded { limit: "max_disks", value: 5000, .. }), "{err}");
    }

    #[test]
    fn entries_are_bounded() {
        let text = "a=\n".repeat(3_000_000);
        let e = parse(text.as_bytes(), &VmConfigLimits::default()).unwrap_err();
        assert!(matches!(e, VmConfigError::LimitExceeded { limit: "max_vmx_entries", value: 200_001, .. }), "{e}");
    }

    /// Writes a value the way VMware escapes it: `"`, `|`, `#` and non-printables as `|XX`.
    fn escape(value: &[u8]) -> String {
        let mut out = String::new();
        for &b in value {
            if b == b'"' || b == b'|' || b == b'#' || !(0x20..0x7f).contains(&b) {
                out.push_str(&format!("|{b:02X}"));
            } else {
                out.push(b as char);
            }
        }
        out
    }

    proptest! {
        #[test]
        fn never_panics_on_text(text in "\\PC{0,400}") {
            let _ = parse(text.as_bytes(), &VmConfigLimits::default());
            let _ = looks_like_vmx(text.as_bytes());
        }

        #[test]
        fn never_panics_on_vmx_like_lines(lines in proptest::collection::vec(
            ("(ethernet|scsi|sata|ide|nvme)[0-9]{1,2}(:[0-9]{1,2})?\\.(present|fileName|deviceType|address|generatedAddress|addressType|networkName)",
             "(TRUE|FALSE|[ -~]{0,20})"), 0..30)) {
            let text: String = lines.iter().map(|(k, v)| format!("{k} = \"{v}\"\n")).collect();
            if let Ok(vm) = parse(text.as_bytes(), &VmConfigLimits::default()) {
                for nic in &vm.nics {
                    if let Some(mac) = &nic.mac { prop_assert_eq!(mac.len(), 17); }
                }
            }
        }

        #[test]
        fn round_trips_escaped_values(entries in proptest::collection::btree_map(
            "[A-Za-z][A-Za-z0-9_.:-]{0,30}", proptest::collection::vec(any::<u8>(), 0..60), 0..20)) {
            let mut text = String::from(".encoding = \"UTF-8\"\n");
            for (k, v) in &entries {
                text.push_str(&format!("{k} = \"{}\"\n", escape(v)));
            }
            let dict = parse_dict(text.as_bytes(), &VmConfigLimits::default()).unwrap();
            for (k, v) in &entries {
                let key = k.to_ascii_lowercase();
                if key == ".encoding" { continue; }
                let expected = String::from_utf8_lossy(v);
                // Keys differing only in case collapse: the last one wins.
                let last = entries.iter().rev().find(|(k2, _)| k2.to_ascii_lowercase() == key).map(|(_, v)| String::from_utf8_lossy(v));
                prop_assert_eq!(dict.get(&key), last.as_deref().or(Some(&*expected)));
            }
        }
    }
}
