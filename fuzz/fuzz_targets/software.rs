//! Fuzz target: the input is a SOFTWARE hive, added to the report of the bundled example SYSTEM
//! hive (whose DHCP adapter a signature may name), in a UTC+1 time zone: `regnet::add_software_bytes`
//! must give warnings, never a panic, within the fuzzing limits.
#![no_main]

use std::sync::OnceLock;

static BASE: OnceLock<Option<regnet::Report>> = OnceLock::new();

fn base() -> Option<&'static regnet::Report> {
    BASE.get_or_init(|| {
        let system = include_bytes!("../../testdata/example/SYSTEM");
        let mut r = regnet::report_from_hive_bytes(system, &[], &regnet::Options::default()).ok()?;
        if let Some(os) = r.os.as_mut() {
            os.utc_offset_minutes = Some(60);
        }
        Some(r)
    })
    .as_ref()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(base) = base() else { return };
    let mut report = base.clone();
    let mut o = regnet::Options::default();
    o.limits = regnet_fuzz::limits();
    regnet::add_software_bytes(&mut report, data, &[], &o);
});
