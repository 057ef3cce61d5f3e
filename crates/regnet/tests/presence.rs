//! Ghost adapters: `Adapter::present` and `Adapter::presence` from writer-made SYSTEM hives, one
//! test per rule of `docs/presence.md` and per malformed value.

use regnet::{Adapter, Options, PresenceSource, Report};
use regnet_testkit::{write_hive, KeySpec, Name, ValueSpec, WriterOptions};

const NET: &str = "{4D36E972-E325-11CE-BFC1-08002BE10318}";
const PROPS: &str = "{83da6326-97a6-4088-9453-a1923f573b29}";
const G1: &str = "{6AAFC9A9-0542-4DB2-8760-CCFFA953737C}";
const G2: &str = "{698E50A9-4F58-4D86-B61D-F42E58DCACF6}";
const INST1: &str = "PCI\\VEN_15AD&DEV_07B0&SUBSYS_07B015AD&REV_01\\FF565000B8A5F0FE00";
const INST2: &str = "PCI\\VEN_15AD&DEV_07B0&SUBSYS_07B015AD&REV_01\\FF565000B8A5F0FE01";
/// 0xFFFF0000 | DEVPROP_TYPE_FILETIME, as Windows 8 and later store device property times.
const DEVPROP_FILETIME: u32 = 0xFFFF_0010;

/// FILETIME of a Unix time.
fn ft(unix: u64) -> u64 {
    (unix + 11_644_473_600) * 10_000_000
}
/// 2019-02-01T10:00:00Z and an hour later.
const T0: u64 = 1_549_015_200;
const T1: u64 = T0 + 3600;

fn ensure<'k>(k: &'k mut KeySpec, path: &str) -> &'k mut KeySpec {
    let mut k = k;
    for part in path.split('\\').filter(|p| !p.is_empty()) {
        let want = Name::auto(part).upcase_units();
        let i = match k.subkeys.iter().position(|s| s.name.upcase_units() == want) {
            Some(i) => i,
            None => {
                k.subkeys.push(KeySpec::new(part));
                k.subkeys.len() - 1
            }
        };
        k = &mut k.subkeys[i];
    }
    k
}

/// A SYSTEM tree: Select, ControlSet001 with a host name and an `Enum` key.
struct Sys(KeySpec);

impl Sys {
    fn new() -> Sys {
        let mut s = Sys(KeySpec::new("ROOT"));
        s.set("\\Select", vec![ValueSpec::dword("Current", 1)]);
        s.set("Services\\Tcpip\\Parameters", vec![ValueSpec::sz("Hostname", "HOST-01")]);
        s.key("Enum");
        s
    }
    /// The key below ControlSet001 (or the root, with a leading `\`).
    fn key(&mut self, path: &str) -> &mut KeySpec {
        let full = match path.strip_prefix('\\') {
            Some(p) => p.to_owned(),
            None => format!("ControlSet001\\{path}"),
        };
        ensure(&mut self.0, &full)
    }
    fn set(&mut self, path: &str, values: Vec<ValueSpec>) -> &mut Self {
        self.key(path).values.extend(values);
        self
    }
    /// A physical NIC's class entry naming its device instance, and its TCP/IP key.
    fn nic(&mut self, index: &str, guid: &str, instance: Option<&str>) -> &mut Self {
        let mut v = vec![
            ValueSpec::sz("NetCfgInstanceId", guid),
            ValueSpec::sz("DriverDesc", "vmxnet3 Ethernet Adapter"),
            ValueSpec::dword("Characteristics", 0x84),
        ];
        if let Some(i) = instance {
            v.push(ValueSpec::sz("DeviceInstanceID", i));
        }
        self.set(&format!("Control\\Class\\{NET}\\{index}"), v);
        self.set(
            &format!("Services\\Tcpip\\Parameters\\Interfaces\\{guid}"),
            vec![
                ValueSpec::dword("EnableDHCP", 0),
                ValueSpec::multi_sz("IPAddress", &["10.0.0.5"]),
                ValueSpec::multi_sz("SubnetMask", &["255.255.255.0"]),
            ],
        )
    }
    /// The device instance under Enum, pointing back at class entry `index`.
    fn device(&mut self, instance: &str, index: &str) -> &mut Self {
        self.set(
            &format!("Enum\\{instance}"),
            vec![ValueSpec::sz("Driver", &format!("{NET}\\{index}")), ValueSpec::dword("ConfigFlags", 0)],
        )
    }
    /// A device property as Windows 8+ stores it: `Properties\{set}\<pid>`, default value.
    fn prop(&mut self, instance: &str, pid: &str, value: ValueSpec) -> &mut Self {
        self.set(&format!("Enum\\{instance}\\Properties\\{PROPS}\\{pid}"), vec![value])
    }
    fn arrival(&mut self, instance: &str, unix: u64) -> &mut Self {
        self.prop(instance, "0066", ValueSpec::new("", DEVPROP_FILETIME, ft(unix).to_le_bytes().to_vec()))
    }
    fn removal(&mut self, instance: &str, unix: u64) -> &mut Self {
        self.prop(instance, "0067", ValueSpec::new("", DEVPROP_FILETIME, ft(unix).to_le_bytes().to_vec()))
    }
    fn report(&self) -> Report {
        let bytes = write_hive(&self.0, &WriterOptions::default());
        regnet::report_from_hive_bytes(&bytes, &[], &Options::default()).unwrap()
    }
}

fn adapter<'r>(r: &'r Report, guid: &str) -> &'r Adapter {
    r.adapters.iter().find(|a| a.guid == guid).unwrap()
}
fn codes(r: &Report) -> Vec<&str> {
    r.warnings.iter().map(|w| w.code.as_str()).collect()
}
/// (present, source, last_arrival, last_removal) of an adapter.
fn facts(a: &Adapter) -> (Option<bool>, Option<PresenceSource>, Option<&str>, Option<&str>) {
    let p = a.presence.as_ref();
    (
        a.present,
        p.map(|p| p.source),
        p.and_then(|p| p.last_arrival.as_deref()),
        p.and_then(|p| p.last_removal.as_deref()),
    )
}

/// One NIC with its device instance, arrived at T0.
fn one_nic() -> Sys {
    let mut s = Sys::new();
    s.nic("0001", G1, Some(INST1)).device(INST1, "0001").arrival(INST1, T0);
    s
}

// ---------------------------------------------------------------------------------------------
// The rules
// ---------------------------------------------------------------------------------------------

#[test]
fn arrival_without_removal_is_present() {
    let r = one_nic().report();
    let a = adapter(&r, G1);
    assert_eq!(facts(a), (Some(true), Some(PresenceSource::DeviceTimes), Some("2019-02-01T10:00:00Z"), None));
    let p = a.presence.as_ref().unwrap();
    assert_eq!(p.device_instance.as_deref(), Some(INST1));
    assert_eq!(p.hive_present, Some(true));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn removal_after_arrival_is_absent() {
    let mut s = one_nic();
    s.removal(INST1, T1);
    let r = s.report();
    assert_eq!(
        facts(adapter(&r, G1)),
        (Some(false), Some(PresenceSource::DeviceTimes), Some("2019-02-01T10:00:00Z"), Some("2019-02-01T11:00:00Z"))
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn arrival_after_removal_is_present() {
    let mut s = Sys::new();
    s.nic("0001", G1, Some(INST1)).device(INST1, "0001").removal(INST1, T0).arrival(INST1, T1);
    let r = s.report();
    assert_eq!(
        facts(adapter(&r, G1)),
        (Some(true), Some(PresenceSource::DeviceTimes), Some("2019-02-01T11:00:00Z"), Some("2019-02-01T10:00:00Z"))
    );
}

#[test]
fn arrival_at_the_removal_time_is_present() {
    let mut s = one_nic();
    s.removal(INST1, T0);
    assert_eq!(adapter(&s.report(), G1).present, Some(true));
}

#[test]
fn removal_one_tick_after_arrival_is_absent() {
    // Compared as raw FILETIMEs, not as the whole seconds shown.
    let mut s = Sys::new();
    s.nic("0001", G1, Some(INST1)).device(INST1, "0001");
    s.prop(INST1, "0066", ValueSpec::new("", DEVPROP_FILETIME, ft(T0).to_le_bytes().to_vec()));
    s.prop(INST1, "0067", ValueSpec::new("", DEVPROP_FILETIME, (ft(T0) + 1).to_le_bytes().to_vec()));
    let r = s.report();
    assert_eq!(
        facts(adapter(&r, G1)),
        (Some(false), Some(PresenceSource::DeviceTimes), Some("2019-02-01T10:00:00Z"), Some("2019-02-01T10:00:00Z"))
    );
}

#[test]
fn removal_without_arrival_is_absent() {
    let mut s = Sys::new();
    s.nic("0001", G1, Some(INST1)).device(INST1, "0001").removal(INST1, T0);
    assert_eq!(
        facts(adapter(&s.report(), G1)),
        (Some(false), Some(PresenceSource::DeviceTimes), None, Some("2019-02-01T10:00:00Z"))
    );
}

#[test]
fn empty_removal_key_is_no_removal() {
    // Windows 10 leaves `\0067` keys without a value on re-arrived devices (SYSTEM_B's WAN miniports).
    let mut s = one_nic();
    s.key(&format!("Enum\\{INST1}\\Properties\\{PROPS}\\0067"));
    let r = s.report();
    assert_eq!(facts(adapter(&r, G1)).0, Some(true));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn missing_instance_is_absent() {
    let mut s = Sys::new();
    s.nic("0001", G1, Some(INST1)).nic("0002", G2, Some(INST2)).device(INST2, "0002").arrival(INST2, T0);
    let r = s.report();
    let a = adapter(&r, G1);
    assert_eq!(facts(a), (Some(false), Some(PresenceSource::DeviceInstance), None, None));
    assert_eq!(a.presence.as_ref().unwrap().device_instance.as_deref(), Some(INST1));
    assert_eq!(adapter(&r, G2).present, Some(true));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn instance_without_times_is_unknown() {
    // Windows 7: the instance exists, its properties hold no arrival or removal time.
    let mut s = Sys::new();
    s.nic("0001", G1, Some(INST1)).device(INST1, "0001");
    // The Windows 7 layout of InstallDate (100): `\00000064\00000000`, `Type` and `Data`.
    s.set(
        &format!("Enum\\{INST1}\\Properties\\{PROPS}\\00000064\\00000000"),
        vec![
            ValueSpec::binary("Type", 0x10u32.to_le_bytes().to_vec()),
            ValueSpec::binary("Data", ft(T0).to_le_bytes().to_vec()),
        ],
    );
    let r = s.report();
    let a = adapter(&r, G1);
    assert_eq!(facts(a), (None, Some(PresenceSource::DeviceInstance), None, None));
    assert_eq!(a.presence.as_ref().unwrap().device_instance.as_deref(), Some(INST1));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn instance_id_from_the_connection_key_when_the_class_has_none() {
    // Windows XP and older: no DeviceInstanceID in the class entry.
    let mut s = Sys::new();
    s.nic("0001", G1, None).device(INST1, "0001").removal(INST1, T0);
    s.set(&format!("Control\\Network\\{NET}\\{G1}\\Connection"), vec![ValueSpec::sz("PnpInstanceID", INST1)]);
    let r = s.report();
    let a = adapter(&r, G1);
    assert_eq!(a.present, Some(false));
    assert_eq!(a.presence.as_ref().unwrap().device_instance.as_deref(), Some(INST1));
}

#[test]
fn no_instance_id_or_no_class_entry_is_unknown() {
    let mut s = Sys::new();
    s.nic("0001", G1, None);
    // A TCP/IP key with settings but no device class entry.
    s.set(
        &format!("Services\\Tcpip\\Parameters\\Interfaces\\{G2}"),
        vec![ValueSpec::dword("EnableDHCP", 0), ValueSpec::multi_sz("IPAddress", &["10.9.9.9"])],
    );
    let r = s.report();
    for g in [G1, G2] {
        let a = adapter(&r, g);
        assert_eq!((a.present, &a.presence), (None, &None), "{g}");
    }
}

#[test]
fn no_enum_key_is_unknown() {
    let mut s = Sys::new();
    s.nic("0001", G1, Some(INST1));
    let cs = ensure(&mut s.0, "ControlSet001");
    cs.subkeys.retain(|k| k.name.to_string_lossy() != "Enum");
    let r = s.report();
    assert_eq!(facts(adapter(&r, G1)), (None, None, None, None));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn instance_is_found_whatever_the_case() {
    let mut s = Sys::new();
    s.nic("0001", G1, Some(&INST1.to_ascii_lowercase())).device(INST1, "0001").removal(INST1, T0);
    assert_eq!(adapter(&s.report(), G1).present, Some(false));
}

#[test]
fn instance_of_another_class_entry_is_unknown() {
    let mut s = one_nic();
    s.removal(INST1, T1);
    s.key(&format!("Enum\\{INST1}")).values.retain(|v| v.name.to_string_lossy() != "Driver");
    s.set(&format!("Enum\\{INST1}"), vec![ValueSpec::sz("Driver", &format!("{NET}\\0007"))]);
    let r = s.report();
    assert_eq!(facts(adapter(&r, G1)), (None, Some(PresenceSource::DeviceInstance), None, None));
    assert_eq!(codes(&r), ["device_instance_mismatch"]);
}

#[test]
fn every_adapter_is_judged_on_its_own() {
    let mut s = Sys::new();
    s.nic("0001", G1, Some(INST1)).device(INST1, "0001").arrival(INST1, T0).removal(INST1, T1);
    s.nic("0002", G2, Some(INST2)).device(INST2, "0002").arrival(INST2, T1).removal(INST2, T0);
    let r = s.report();
    assert_eq!(r.adapters.iter().map(|a| a.present).collect::<Vec<_>>(), [Some(false), Some(true)]);
}

// ---------------------------------------------------------------------------------------------
// Malformed values: a warning, and the answer falls back to unknown
// ---------------------------------------------------------------------------------------------

/// One NIC whose removal time is the given value; the report must say unknown with one warning.
fn bad_removal(v: ValueSpec) -> Report {
    let mut s = one_nic();
    s.prop(INST1, "0067", v);
    let r = s.report();
    let a = adapter(&r, G1);
    assert_eq!(
        facts(a),
        (None, Some(PresenceSource::DeviceTimes), Some("2019-02-01T10:00:00Z"), None),
        "{:?}",
        r.warnings
    );
    assert_eq!(codes(&r), ["bad_device_property"], "{:?}", r.warnings);
    let w = &r.warnings[0];
    assert!(w.key.as_deref().unwrap().ends_with(&format!("{PROPS}\\0067")), "{w:?}");
    r
}

#[test]
fn wrong_types_are_warnings() {
    for t in [3, 11, 0xFFFF_0012, 0xFFFF_0007, 0x0000_0010, 0xFFFF_1010] {
        bad_removal(ValueSpec::new("", t, ft(T1).to_le_bytes().to_vec()));
    }
}

#[test]
fn wrong_lengths_are_warnings() {
    for len in [0, 4, 7, 9, 16] {
        bad_removal(ValueSpec::new("", DEVPROP_FILETIME, vec![0x11; len]));
    }
}

#[test]
fn a_huge_value_is_a_warning_without_reading_it() {
    // 1 MiB: stored as big data; only its declared length is looked at.
    let r = bad_removal(ValueSpec::new("", DEVPROP_FILETIME, vec![0xAB; 1 << 20]));
    assert!(r.warnings[0].message.contains("1048576 bytes"), "{:?}", r.warnings);
}

#[test]
fn impossible_times_are_warnings() {
    // 0 (1601), u64::MAX (year 60056), just before 1980, 2200 and later.
    let before_1980 = ft(315_532_800) - 1;
    for t in [0, 1, u64::MAX, i64::MAX as u64, before_1980, ft(7_258_118_400), ft(7_258_118_400) * 3] {
        let r = bad_removal(ValueSpec::new("", DEVPROP_FILETIME, t.to_le_bytes().to_vec()));
        assert!(r.warnings[0].message.contains(&format!("{t:#018x}")), "{:?}", r.warnings);
    }
}

#[test]
fn a_bad_arrival_is_a_warning_too() {
    let mut s = Sys::new();
    s.nic("0001", G1, Some(INST1)).device(INST1, "0001").removal(INST1, T0);
    s.prop(INST1, "0066", ValueSpec::sz("", "2019-02-01"));
    let r = s.report();
    assert_eq!(facts(adapter(&r, G1)), (None, Some(PresenceSource::DeviceTimes), None, Some("2019-02-01T10:00:00Z")));
    assert_eq!(codes(&r), ["bad_device_property"]);
}

#[test]
fn bad_instance_ids_are_warnings() {
    let long = format!("PCI\\{}\\0", "A".repeat(300));
    let cases: Vec<String> = vec![
        "PCI\\VEN_15AD".into(),
        "PCI\\VEN_15AD\\1\\2".into(),
        "PCI\\\\1".into(),
        "\\PCI\\VEN\\1".into(),
        "PCI\\VEN\u{1}\\1".into(),
        "..\\..\\Services".into(),
        long,
    ];
    for id in cases {
        let mut s = Sys::new();
        s.nic("0001", G1, Some(&id));
        let r = s.report();
        let a = adapter(&r, G1);
        assert_eq!((a.present, &a.presence), (None, &None), "{id:?}");
        assert_eq!(codes(&r), ["bad_value"], "{id:?}");
        assert_eq!(r.warnings[0].value.as_deref(), Some("DeviceInstanceID"));
    }
}

#[test]
fn an_instance_id_of_the_wrong_type_is_a_warning() {
    let mut s = Sys::new();
    s.nic("0001", G1, None);
    s.set(&format!("Control\\Class\\{NET}\\0001"), vec![ValueSpec::dword("DeviceInstanceID", 7)]);
    let r = s.report();
    assert_eq!((adapter(&r, G1).present, &adapter(&r, G1).presence), (None, &None));
    assert_eq!(codes(&r), ["wrong_type"]);
}

// ---------------------------------------------------------------------------------------------
// The VM configuration override and the JSON contract
// ---------------------------------------------------------------------------------------------

#[test]
fn vm_config_overrides_the_hive_and_keeps_its_answer() {
    let mut s = one_nic();
    s.removal(INST1, T1);
    let mut r = s.report();
    let a = r.adapters.iter_mut().find(|a| a.guid == G1).unwrap();
    a.set_present_from_vm_config(true);
    assert_eq!(
        facts(a),
        (Some(true), Some(PresenceSource::VmConfig), Some("2019-02-01T10:00:00Z"), Some("2019-02-01T11:00:00Z"))
    );
    assert_eq!(a.presence.as_ref().unwrap().hive_present, Some(false));
    // Twice: the hive's answer is still the hive's.
    a.set_present_from_vm_config(false);
    assert_eq!(a.presence.as_ref().unwrap().hive_present, Some(false));

    // An adapter the hive knew nothing about.
    let mut s = Sys::new();
    s.nic("0001", G1, None);
    let mut r = s.report();
    r.adapters[0].set_present_from_vm_config(false);
    let p = r.adapters[0].presence.as_ref().unwrap();
    assert_eq!((r.adapters[0].present, p.source, p.hive_present), (Some(false), PresenceSource::VmConfig, None));
}

#[test]
fn json_fields_and_old_reports() {
    let mut s = one_nic();
    s.removal(INST1, T1);
    let r = s.report();
    let v = serde_json::to_value(&r).unwrap();
    let a = &v["adapters"][0];
    assert_eq!(a["present"], serde_json::json!(false));
    assert_eq!(
        a["presence"],
        serde_json::json!({
            "source": "device_times",
            "device_instance": INST1,
            "last_arrival": "2019-02-01T10:00:00Z",
            "last_removal": "2019-02-01T11:00:00Z",
            "hive_present": false
        })
    );
    let back: Report = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(back, r);
    // A report written before these fields existed still loads, as unknown.
    let mut old = v;
    let obj = old["adapters"][0].as_object_mut().unwrap();
    obj.remove("present");
    obj.remove("presence");
    let back: Report = serde_json::from_value(old).unwrap();
    assert_eq!((back.adapters[0].present, &back.adapters[0].presence), (None, &None));
}

#[test]
fn many_adapters_and_a_wide_enum_stay_bounded() {
    // 1,000 adapters whose instances sit among 1,000 enumerators: every lookup scans a long list
    // (as the other per-adapter lookups do); half the instances exist, with a removal time.
    let n = 1000;
    let mut s = Sys::new();
    for i in 0..n {
        let index = format!("{i:04}");
        let guid = format!("{{00000000-0000-0000-0000-{i:012}}}");
        let inst = format!("E{i}\\DEV\\{i}");
        s.set(
            &format!("Control\\Class\\{NET}\\{index}"),
            vec![ValueSpec::sz("NetCfgInstanceId", &guid), ValueSpec::sz("DeviceInstanceID", &inst)],
        );
        if i % 2 == 0 {
            s.device(&inst, &index).removal(&inst, T0);
        }
    }
    let started = std::time::Instant::now();
    let r = s.report();
    let took = started.elapsed();
    assert_eq!(r.adapters.len(), n);
    assert!(r
        .adapters
        .iter()
        .enumerate()
        .all(|(i, a)| a.present == Some(false) && (i % 2 == 1) == a.presence.as_ref().unwrap().last_removal.is_none()));
    eprintln!("{n} adapters: {took:?}");
}
