//! Hostile inputs across the crate: what a tenant can put in a configuration file.

use std::path::PathBuf;

use regnet_vmconfig::{
    canonical_mac, detect, parse, parse_ova, ConfigKind, DiskLocation, VmConfig, VmConfigError, VmConfigLimits,
    MAX_WARNINGS,
};

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/vm").join(name)).unwrap()
}

/// The crate never opens, lists, or runs anything: no file-system, process or network API appears
/// in its source, so a disk named `/etc/shadow` cannot be read by parsing.
#[test]
fn source_uses_no_file_system() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut n = 0;
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for banned in [
            "std::fs",
            "fs::",
            "File::",
            "OpenOptions",
            "read_dir",
            "std::process",
            "std::net",
            "std::env",
            "Path::new",
            "PathBuf",
        ] {
            assert!(!text.contains(banned), "{} uses {banned}", path.display());
        }
        n += 1;
    }
    assert!(n >= 7);
}

#[test]
fn disks_naming_host_files_are_returned_as_names() {
    let vmx = b"scsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"/etc/shadow\"\nscsi0:1.present = \"TRUE\"\nscsi0:1.fileName = \"../../x.vmdk\"\n";
    let vm = parse(ConfigKind::Vmx, vmx, &VmConfigLimits::default()).unwrap();
    assert_eq!(vm.disks[0].location, DiskLocation::File("/etc/shadow".into()));
    assert_eq!(vm.disks[1].location, DiskLocation::File("../../x.vmdk".into()));
    let ovf = String::from_utf8(sample("web01.ovf")).unwrap().replace("web01-disk1.vmdk", "/etc/shadow");
    let vm = parse(ConfigKind::Ovf, ovf.as_bytes(), &VmConfigLimits::default()).unwrap();
    assert_eq!(vm.disks[0].location, DiskLocation::File("/etc/shadow".into()));
}

#[test]
fn entity_bombs_in_real_files() {
    let bomb = "<!DOCTYPE Envelope [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>\n";
    let ovf = String::from_utf8(sample("web01.ovf"))
        .unwrap()
        .replacen("<Envelope", &format!("{bomb}<Envelope"), 1)
        .replace(">web01</Name>", ">&c;</Name>");
    let e = parse(ConfigKind::Ovf, ovf.as_bytes(), &VmConfigLimits::default()).unwrap_err();
    assert!(matches!(e, VmConfigError::Entity { .. }), "{e}");
    // Detection still sees an OVF: the DOCTYPE is skipped, never read.
    assert_eq!(detect(ovf.as_bytes()), Some(ConfigKind::Ovf));
    let xxe = "<!DOCTYPE domain [<!ENTITY x SYSTEM \"file:///etc/shadow\">]>\n";
    let dom = format!("{xxe}{}", String::from_utf8(sample("domain.xml")).unwrap())
        .replace("<name>web01</name>", "<name>&x;</name>");
    let e = parse(ConfigKind::Libvirt, dom.as_bytes(), &VmConfigLimits::default()).unwrap_err();
    assert!(matches!(e, VmConfigError::Entity { .. }), "{e}");
    assert!(e.to_string().contains("refused"));
    // The entity used without a declaration: refused too.
    let dom = String::from_utf8(sample("domain.xml")).unwrap().replace("<name>web01</name>", "<name>&x;</name>");
    assert!(matches!(
        parse(ConfigKind::Libvirt, dom.as_bytes(), &VmConfigLimits::default()),
        Err(VmConfigError::Entity { .. })
    ));
}

#[test]
fn sizes_and_kinds() {
    let mut limits = VmConfigLimits::default();
    limits.max_config_bytes = 10;
    let e = parse(ConfigKind::Vmx, b"displayName = \"x\"", &limits).unwrap_err();
    assert!(matches!(e, VmConfigError::LimitExceeded { limit: "max_config_bytes", value: 17, max: 10 }), "{e}");
    assert_eq!(e.to_string(), "limit `max_config_bytes` exceeded: 17 > 10");
    assert!(matches!(
        parse(ConfigKind::Ova, &sample("web01.ova"), &VmConfigLimits::default()),
        Err(VmConfigError::Unsupported(_))
    ));
    // A file of one kind read as another: a typed error.
    assert!(parse(ConfigKind::Libvirt, &sample("web01.ovf"), &VmConfigLimits::default()).is_err());
    assert!(parse(ConfigKind::Ovf, &sample("domain.xml"), &VmConfigLimits::default()).is_err());
    assert!(parse(ConfigKind::Vmx, &sample("domain.xml"), &VmConfigLimits::default()).is_err());
    assert!(parse(ConfigKind::Ovf, &sample("web01.vmx"), &VmConfigLimits::default()).is_err());
    assert!(parse_ova(&mut std::io::Cursor::new(sample("web01.ovf")), &VmConfigLimits::default()).is_err());
    // Non-UTF-8 garbage everywhere.
    let garbage: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    for kind in [ConfigKind::Vmx, ConfigKind::Ovf, ConfigKind::Libvirt] {
        assert!(parse(kind, &garbage, &VmConfigLimits::default()).is_err(), "{kind:?}");
    }
    assert!(parse_ova(&mut std::io::Cursor::new(&garbage), &VmConfigLimits::default()).is_err());
    assert_eq!(detect(&garbage), None);
}

#[test]
fn warnings_are_capped() {
    let text: String = (0..1000).map(|i| format!("k{i} = \"a|zz\"\n")).collect();
    let vm = parse(ConfigKind::Vmx, text.as_bytes(), &VmConfigLimits::default()).unwrap();
    assert_eq!(vm.warnings.len(), MAX_WARNINGS + 1);
    assert_eq!(vm.warnings.last().map(String::as_str), Some("further warnings omitted"));
}

#[test]
fn macs() {
    for (input, out) in [
        ("00:50:56:9a:3c:1f", Some("00:50:56:9A:3C:1F")),
        ("00-50-56-9A-3C-1F", Some("00:50:56:9A:3C:1F")),
        ("0050.569a.3c1f", Some("00:50:56:9A:3C:1F")),
        ("0050569a3c1f", Some("00:50:56:9A:3C:1F")),
        (" 00:50:56:9a:3c:1f ", Some("00:50:56:9A:3C:1F")),
        ("0:50:56:9a:3c:1f0", None),
        ("00:50:56:9a:3c", None),
        ("00:50:56:9a:3c:1f:00", None),
        ("00:50:56:9a:3c:1g", None),
        ("00 50 56 9a 3c 1f", None),
        ("", None),
        ("ÿÿ:ÿÿ", None),
    ] {
        assert_eq!(canonical_mac(input).as_deref(), out, "{input:?}");
    }
}

#[test]
fn serde_round_trip() {
    for (kind, file) in
        [(ConfigKind::Vmx, "web01.vmx"), (ConfigKind::Ovf, "web01.ovf"), (ConfigKind::Libvirt, "domain.xml")]
    {
        let vm = parse(kind, &sample(file), &VmConfigLimits::default()).unwrap();
        let json = serde_json::to_string(&vm).unwrap();
        let back: VmConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, vm);
    }
    let vm = parse_ova(&mut std::io::Cursor::new(sample("web01.ova")), &VmConfigLimits::default()).unwrap();
    let json = serde_json::to_value(&vm).unwrap();
    assert_eq!(json["kind"], "ova");
    assert_eq!(json["disks"][0]["location"]["archive_member"]["name"], "web01-disk1.vmdk");
    assert_eq!(json["nics"][1]["mac"], "00:50:56:9A:3C:20");
    let limits: VmConfigLimits =
        serde_json::from_str(&serde_json::to_string(&VmConfigLimits::default()).unwrap()).unwrap();
    assert_eq!(limits, VmConfigLimits::default());
}

#[test]
fn errors_display() {
    let e = VmConfigError::io("reading x", std::io::Error::other("boom"));
    assert_eq!(e.to_string(), "reading x: boom");
    let e = parse(ConfigKind::Libvirt, b"<domain>", &VmConfigLimits::default()).unwrap_err();
    assert!(e.to_string().starts_with("XML at byte 8"), "{e}");
}

/// Inputs near `max_config_bytes` built to make each parser work hardest. Prints the time taken
/// (the repository's tests print slow cases rather than assert on time).
#[test]
fn worst_cases_stay_bounded() {
    let limits = VmConfigLimits::default();
    // Full size in release builds; a quarter in debug builds, to keep the test suite quick.
    let max = limits.max_config_bytes as usize / if cfg!(debug_assertions) { 4 } else { 1 };
    let fill = |unit: &str, head: &str, tail: &str| -> Vec<u8> {
        let n = (max - head.len() - tail.len()) / unit.len();
        let mut s = String::with_capacity(max);
        s.push_str(head);
        for _ in 0..n {
            s.push_str(unit);
        }
        s.push_str(tail);
        s.into_bytes()
    };
    let cases: Vec<(&str, ConfigKind, Vec<u8>)> = vec![
        ("vmx: one key repeated", ConfigKind::Vmx, fill("a = \"b\"\n", "", "")),
        ("vmx: distinct disk keys", ConfigKind::Vmx, {
            let mut s = String::new();
            let mut i = 0u32;
            while s.len() < max - 64 && i < 190_000 {
                s.push_str(&format!("scsi{}:{}.present = \"TRUE\"\n", i / 64, i % 64));
                i += 1;
            }
            s.into_bytes()
        }),
        ("vmx: escapes", ConfigKind::Vmx, fill("|22|7C|23", "k = \"", "\"\n")),
        ("ovf: flat elements", ConfigKind::Ovf, fill("<a/>", "<Envelope xmlns='http://schemas.dmtf.org/ovf/envelope/1'>", "</Envelope>")),
        ("ovf: one Item with many children", ConfigKind::Ovf, fill(
            "<rasd:Connection>n</rasd:Connection>",
            "<Envelope xmlns='http://schemas.dmtf.org/ovf/envelope/1' xmlns:rasd='urn:x/CIM_ResourceAllocationSettingData'><VirtualSystem><VirtualHardwareSection><Item><rasd:ResourceType>10</rasd:ResourceType>",
            "</Item></VirtualHardwareSection></VirtualSystem></Envelope>",
        )),
        ("ovf: character references", ConfigKind::Ovf, fill("&#x41;&amp;", "<Envelope xmlns='http://schemas.dmtf.org/ovf/envelope/1'><VirtualSystem><Name>", "</Name></VirtualSystem></Envelope>")),
        ("libvirt: interfaces with wide vlans", ConfigKind::Libvirt, fill(
            "<interface type='bridge'><vlan><tag id='1'/><tag id='2'/></vlan><source bridge='b'/></interface>",
            "<domain><devices>",
            "</devices></domain>",
        )),
        ("libvirt: attributes", ConfigKind::Libvirt, fill(" a=''", "<domain><devices><disk", "/></devices></domain>")),
        ("libvirt: comments", ConfigKind::Libvirt, fill("<!---->", "<domain>", "</domain>")),
    ];
    for (what, kind, bytes) in cases {
        assert!(bytes.len() <= max, "{what}: {}", bytes.len());
        let t = std::time::Instant::now();
        let r = parse(kind, &bytes, &limits);
        eprintln!(
            "{what}: {} bytes, {:?} in {:?}",
            bytes.len(),
            r.as_ref().map(|vm| vm.nics.len()).map_err(|e| e.to_string()),
            t.elapsed()
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Mutated and truncated copies of the sample OVA: a result whose members lie inside the file,
    /// or a typed error; never a panic.
    #[test]
    fn mutated_ova(edits in proptest::collection::vec((0usize..20480, proptest::prelude::any::<u8>()), 0..8), cut in 0usize..20481) {
        let mut bytes = sample("web01.ova");
        for (at, b) in edits {
            if let Some(x) = bytes.get_mut(at) { *x = b; }
        }
        bytes.truncate(cut.max(1));
        let _ = detect(&bytes);
        if let Ok(vm) = parse_ova(&mut std::io::Cursor::new(&bytes), &VmConfigLimits::default()) {
            for d in &vm.disks {
                if let DiskLocation::ArchiveMember { offset, len, .. } = &d.location {
                    proptest::prop_assert!(offset + len <= bytes.len() as u64);
                }
            }
        }
    }

    /// Mutated copies of the sample OVF and domain XML: never a panic.
    #[test]
    fn mutated_xml(edits in proptest::collection::vec((0usize..9000, proptest::prelude::any::<u8>()), 0..8), cut in 0usize..9000) {
        for (kind, file) in [(ConfigKind::Ovf, "web01.ovf"), (ConfigKind::Libvirt, "domain.xml")] {
            let mut bytes = sample(file);
            for &(at, b) in &edits {
                if let Some(x) = bytes.get_mut(at) { *x = b; }
            }
            bytes.truncate(cut);
            let _ = detect(&bytes);
            let _ = parse(kind, &bytes, &VmConfigLimits::default());
        }
    }
}
