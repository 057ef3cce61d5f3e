//! The SOFTWARE hive: which Windows it is (`Microsoft\Windows NT\CurrentVersion`) and which
//! networks it has been on (`…\CurrentVersion\NetworkList`), added to a SYSTEM report.
//!
//! A missing or damaged SOFTWARE hive is a warning in the report, never an error: the SYSTEM
//! report still comes out.

use crate::history::{NetworkCategory, NetworkNameType, NetworkProfile, NetworkSignature};
use crate::read::{canonical_guid, format_mac, Reader};
use crate::report::{OsInfo, Report, Warning};
use crate::wintime::{filetime_utc, systemtime, unix_utc, SystemTime, Zone};
use crate::Options;
use regnet_hive::{Hive, Key, LogFile, OpenOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the software hive lives on a Windows volume.
pub const SOFTWARE_HIVE: &str = "\\Windows\\System32\\config\\SOFTWARE";

/// At most this many profiles are read (a real machine has tens, a busy laptop hundreds); the
/// rest are counted in a warning.
const MAX_PROFILES: usize = 10_000;
/// At most this many signatures are read from each of `Managed` and `Unmanaged`.
const MAX_SIGNATURES: usize = 20_000;
/// Warnings of one kind about profiles, before they are only counted.
const MAX_PROFILE_WARNINGS: usize = 100;

const CURRENT_VERSION: &str = "Microsoft\\Windows NT\\CurrentVersion";
const NETWORK_LIST: &str = "Microsoft\\Windows NT\\CurrentVersion\\NetworkList";

/// Finds the SOFTWARE hive beside a SYSTEM hive file: a file named `SOFTWARE`, whatever its case.
///
/// ```
/// # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example");
/// // The bundled example has no SOFTWARE hive.
/// assert_eq!(regnet::find_software(std::path::Path::new(dir).join("SYSTEM").as_path()), None);
/// ```
pub fn find_software(system: &Path) -> Option<PathBuf> {
    let dir = system.parent()?;
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.eq_ignore_ascii_case("SOFTWARE")))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.into_iter().next()
}

/// Adds what the SOFTWARE hive file at `path` tells (OS, network history) to `report`, its
/// transaction logs found beside it (or none with `opts.no_logs`). Every problem, from a missing
/// file to a damaged hive, is a warning in the report.
pub fn add_software_file(report: &mut Report, path: &Path, opts: &Options) {
    let read = |p: &Path, limit: &str, max: u64| -> std::result::Result<Vec<u8>, String> {
        let len = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?.len();
        if len > max {
            return Err(format!("{}: {len} bytes is over {limit} ({max})", p.display()));
        }
        std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
    };
    let primary = match read(path, "max_hive_size", opts.limits.max_hive_size) {
        Ok(b) => b,
        Err(e) => return unreadable(report, e),
    };
    let mut logs = Vec::new();
    if !opts.no_logs {
        for p in crate::find_logs(path) {
            match read(&p, "max_log_size", opts.limits.max_log_size) {
                Ok(b) => logs.push((p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), b)),
                Err(e) => report.warnings.push(warning("software_log_unreadable", e, None)),
            }
        }
    }
    let refs: Vec<LogFile<'_>> = logs.iter().map(|(n, d)| LogFile::new(n.clone(), d)).collect();
    add_software_bytes(report, &primary, &refs, opts);
}

/// Adds what a SOFTWARE hive held in memory tells to `report` (its logs replayed when it is dirty,
/// unless `opts.no_logs`). A hive that cannot be opened is a warning.
pub fn add_software_bytes(report: &mut Report, primary: &[u8], logs: &[LogFile<'_>], opts: &Options) {
    match Hive::open_with(primary, &open_options(logs, opts)) {
        Ok(h) => add_software_hive(report, &h),
        Err(e) => unreadable(report, e.to_string()),
    }
}

/// Adds what a SOFTWARE hive read on demand from `source` tells to `report`.
pub fn add_software_source<'a>(
    report: &mut Report,
    source: &'a dyn regnet_hive::Source,
    logs: &[LogFile<'a>],
    opts: &Options,
) {
    match Hive::open_source(source, &open_options(logs, opts)) {
        Ok(h) => add_software_hive(report, &h),
        Err(e) => unreadable(report, e.to_string()),
    }
}

fn open_options<'a>(logs: &[LogFile<'a>], opts: &Options) -> OpenOptions<'a> {
    let mut o = OpenOptions::new().limits(opts.limits);
    if !opts.no_logs {
        for l in logs {
            o = o.log(l.clone());
        }
    }
    o
}

fn warning(code: &str, message: String, key: Option<String>) -> Warning {
    Warning { code: code.into(), message, key, value: None }
}

fn unreadable(report: &mut Report, message: String) {
    report.warnings.push(warning(
        "software_unreadable",
        format!("the SOFTWARE hive could not be read, so the report has no OS version or network history: {message}"),
        None,
    ));
}

/// Adds what an open SOFTWARE hive tells to `report`: `os` gains the Windows version,
/// `network_history` the NetworkList profiles, `software_hive` the hive's state, and each adapter
/// whose DHCP gateway MAC a signature names the profile's name.
pub fn add_software_hive(report: &mut Report, hive: &Hive<'_>) {
    report.software_hive = Some(crate::extract::hive_state(hive));
    let recovered = hive.recovery().recovered;
    for w in hive.warnings() {
        if recovered
            && matches!(w, regnet_hive::Warning::BadChecksum { .. } | regnet_hive::Warning::SequenceMismatch { .. })
        {
            continue;
        }
        let code = match w {
            regnet_hive::Warning::DirtyNotRecovered => "software_dirty_not_recovered",
            regnet_hive::Warning::BinsTruncated { .. } => "software_hive_truncated",
            _ => "software_hive",
        };
        report.warnings.push(warning(code, format!("SOFTWARE hive: {w}"), None));
    }
    let root = match hive.root_key() {
        Ok(k) => k,
        Err(e) => return unreadable(report, e.to_string()),
    };
    let mut r = Reader::default();
    let zone = Zone::of(report.os.as_ref());
    let os = report.os.get_or_insert_with(|| OsInfo { family: "windows".into(), ..OsInfo::default() });
    let found_version = read_version(&mut r, &root, os);
    let history = read_history(&mut r, &root, &zone);
    if !found_version && history.is_none() {
        r.warn(
            "not_a_software_hive",
            format!("the SOFTWARE hive has neither {CURRENT_VERSION} nor its NetworkList"),
            None,
            None,
        );
    }
    report.network_history = history.unwrap_or_default();
    join_adapters(report);
    report.warnings.append(&mut r.warnings);
}

/// A path inside the SOFTWARE hive, for messages.
fn sw_path(rel: &str) -> String {
    format!("SOFTWARE\\{rel}")
}

/// A subkey by relative path; damage on the way is a warning and reads as absent.
fn sub<'h>(r: &mut Reader, key: &Key<'h>, rel: &str, full: &str) -> Option<Key<'h>> {
    match key.subpath(rel) {
        Ok(k) => Some(k),
        Err(regnet_hive::HiveError::KeyNotFound { .. }) => None,
        Err(e) => {
            r.warn("unreadable_key", format!("could not be read: {e}"), Some(full), None);
            None
        }
    }
}

/// `CurrentVersion` into `os`; false when the key is absent.
fn read_version(r: &mut Reader, root: &Key<'_>, os: &mut OsInfo) -> bool {
    let path = sw_path(CURRENT_VERSION);
    let Some(k) = sub(r, root, CURRENT_VERSION, &path) else { return false };
    let product = r.string(&k, &path, "ProductName");
    let build = r.string(&k, &path, "CurrentBuild").or_else(|| r.string(&k, &path, "CurrentBuildNumber"));
    let ubr = r.dword(&k, &path, "UBR");
    let major = r.dword(&k, &path, "CurrentMajorVersionNumber");
    let minor = r.dword(&k, &path, "CurrentMinorVersionNumber");
    let display = r.string(&k, &path, "DisplayVersion").or_else(|| r.string(&k, &path, "ReleaseId"));
    os.edition = r.string(&k, &path, "EditionID");
    os.install_date = match r.dword(&k, &path, "InstallDate") {
        Some(secs) => unix_utc(i64::from(secs)),
        None => qword(r, &k, &path, "InstallTime").and_then(filetime_utc),
    };
    let base = match (major, minor) {
        (Some(a), Some(b)) => Some(format!("{a}.{b}")),
        _ => r.string(&k, &path, "CurrentVersion"),
    };
    os.version = match (&base, &build) {
        (Some(v), Some(b)) => Some(match ubr {
            Some(u) => format!("{v}.{b}.{u}"),
            None => format!("{v}.{b}"),
        }),
        (Some(v), None) => Some(v.clone()),
        _ => None,
    };
    // Windows 11 keeps `ProductName` = "Windows 10 …"; its build numbers start at 22000.
    let build_no = build.as_deref().and_then(|b| b.parse::<u32>().ok());
    os.pretty_name = product.as_ref().map(|p| {
        let p = match (p.strip_prefix("Windows 10"), build_no) {
            (Some(rest), Some(n)) if n >= 22_000 => format!("Windows 11{rest}"),
            _ => p.clone(),
        };
        match &display {
            Some(d) => format!("{p} {d}"),
            None => p,
        }
    });
    os.name = product;
    os.build = build;
    os.ubr = ubr;
    os.display_version = display;
    true
}

/// A QWORD value (a FILETIME), with a warning when it is something else.
fn qword(r: &mut Reader, k: &Key<'_>, path: &str, name: &str) -> Option<u64> {
    let v = r.value(k, path, name)?;
    match v.u64() {
        Ok(n) => Some(n),
        Err(e) => {
            r.warn("bad_value", format!("not a QWORD: {e}; ignored"), Some(path), Some(name));
            None
        }
    }
}

/// Counts the warnings about profiles by code, so that a hive of ten thousand broken profiles
/// gives a bounded number of them: the first [`MAX_PROFILE_WARNINGS`] of each code, then one that
/// counts the rest.
#[derive(Default)]
struct Capped {
    counts: BTreeMap<&'static str, usize>,
}

impl Capped {
    fn warn(&mut self, r: &mut Reader, code: &'static str, message: String, path: &str, name: &str) {
        let n = self.counts.entry(code).or_default();
        *n += 1;
        if *n <= MAX_PROFILE_WARNINGS {
            r.warn(code, message, Some(path), Some(name));
        }
    }

    fn finish(self, r: &mut Reader, path: &str) {
        for (code, n) in self.counts {
            if n > MAX_PROFILE_WARNINGS {
                let more = n - MAX_PROFILE_WARNINGS;
                r.warn(
                    code,
                    format!("{more} more of these in other profiles (not listed one by one)"),
                    Some(path),
                    None,
                );
            }
        }
    }
}

/// The NetworkList profiles with their signatures, most recently connected first; `None` when
/// there is no NetworkList key.
fn read_history(r: &mut Reader, root: &Key<'_>, zone: &Zone) -> Option<Vec<NetworkProfile>> {
    let nl_path = sw_path(NETWORK_LIST);
    let nl = sub(r, root, NETWORK_LIST, &nl_path)?;
    let mut sigs = signatures(r, &nl, &nl_path);
    let mut out = Vec::new();
    let profiles_path = format!("{nl_path}\\Profiles");
    let mut capped = Capped::default();
    let mut unzoned = false;
    if let Some(pk) = sub(r, &nl, "Profiles", &profiles_path) {
        let total = pk.subkey_count() as usize;
        for k in pk.subkeys().take(MAX_PROFILES) {
            let k = match k {
                Ok(k) => k,
                Err(e) => {
                    r.warn("unreadable_key", format!("a profile could not be read: {e}"), Some(&profiles_path), None);
                    continue;
                }
            };
            let guid = canonical_guid(&k.name_string());
            let path = format!("{profiles_path}\\{}", k.name_string());
            let mut p = NetworkProfile {
                name: r.string(&k, &path, "ProfileName"),
                description: r.string(&k, &path, "Description"),
                category_raw: r.dword(&k, &path, "Category"),
                name_type_raw: r.dword(&k, &path, "NameType"),
                managed: r.dword(&k, &path, "Managed").map(|m| m != 0),
                signatures: sigs.remove(&guid).unwrap_or_default(),
                guid,
                ..NetworkProfile::default()
            };
            p.category = p.category_raw.and_then(NetworkCategory::from_raw);
            p.name_type = p.name_type_raw.and_then(NetworkNameType::from_raw);
            if let Some(c) = p.category_raw.filter(|_| p.category.is_none()) {
                let message = format!("category {c} is not public (0), private (1) or domain (2)");
                capped.warn(r, "bad_value", message, &path, "Category");
            }
            for (name, local, utc, raw) in [
                ("DateCreated", &mut p.created_local, &mut p.created, &mut p.created_raw),
                ("DateLastConnected", &mut p.last_connected_local, &mut p.last_connected, &mut p.last_connected_raw),
            ] {
                let Some(b) = r.binary(&k, &path, name) else { continue };
                match systemtime(&b, zone) {
                    SystemTime::Date { local: l, utc: u } => {
                        unzoned |= u.is_none();
                        (*local, *utc) = (Some(l), u);
                    }
                    SystemTime::Impossible { raw: x, why } => {
                        let message = format!("not a possible date ({why}); the raw value is kept in the report");
                        capped.warn(r, "bad_date", message, &path, name);
                        *raw = Some(x);
                    }
                }
            }
            out.push(p);
        }
        if total > MAX_PROFILES {
            r.warn(
                "history_truncated",
                format!("{total} network profiles; the first {MAX_PROFILES} (in key order) were read"),
                Some(&profiles_path),
                None,
            );
        }
    }
    capped.finish(r, &profiles_path);
    if unzoned {
        r.warn(
            "time_zone_unknown",
            "the SYSTEM hive gives no time zone, so NetworkList dates (local time) are not converted to UTC",
            Some(&profiles_path),
            None,
        );
    }
    let orphans: usize = sigs.values().map(Vec::len).sum();
    if orphans > 0 {
        r.warn(
            "orphan_signature",
            format!("{orphans} network signatures name no profile that was read"),
            Some(&format!("{nl_path}\\Signatures")),
            None,
        );
    }
    // Most recently connected first; the local times of one machine sort as its UTC times do.
    out.sort_by(|a, b| {
        (b.last_connected_local.is_some(), &b.last_connected_local, &b.created_local)
            .cmp(&(a.last_connected_local.is_some(), &a.last_connected_local, &a.created_local))
            .then_with(|| a.guid.cmp(&b.guid))
    });
    Some(out)
}

/// The signatures under `Signatures\Managed` and `Signatures\Unmanaged`, by the profile GUID they
/// name, managed ones first, each set in key-name order.
fn signatures(r: &mut Reader, nl: &Key<'_>, nl_path: &str) -> BTreeMap<String, Vec<NetworkSignature>> {
    let mut out: BTreeMap<String, Vec<NetworkSignature>> = BTreeMap::new();
    for (set, managed) in [("Managed", true), ("Unmanaged", false)] {
        let set_path = format!("{nl_path}\\Signatures\\{set}");
        let Some(sk) = sub(r, nl, &format!("Signatures\\{set}"), &set_path) else { continue };
        let mut read: Vec<(String, NetworkSignature)> = Vec::new();
        for k in sk.subkeys().take(MAX_SIGNATURES) {
            let k = match k {
                Ok(k) => k,
                Err(e) => {
                    r.warn("unreadable_key", format!("a signature could not be read: {e}"), Some(&set_path), None);
                    continue;
                }
            };
            let key = k.name_string().into_owned();
            let path = format!("{set_path}\\{key}");
            let Some(guid) = r.string(&k, &path, "ProfileGuid") else {
                r.warn("bad_value", "a signature without a ProfileGuid; ignored", Some(&path), Some("ProfileGuid"));
                continue;
            };
            let gateway_mac = r.binary(&k, &path, "DefaultGatewayMac").and_then(|b| {
                let m = format_mac(&b);
                if m.is_none() && b.iter().any(|&x| x != 0) {
                    r.warn(
                        "bad_value",
                        format!("{} bytes is not a MAC address; ignored", b.len()),
                        Some(&path),
                        Some("DefaultGatewayMac"),
                    );
                }
                m
            });
            let sig = NetworkSignature {
                managed,
                gateway_mac,
                dns_suffix: r.string(&k, &path, "DnsSuffix").filter(|s| s != "<none>"),
                first_network: r.string(&k, &path, "FirstNetwork"),
                description: r.string(&k, &path, "Description"),
                key,
            };
            read.push((canonical_guid(&guid), sig));
        }
        read.sort_by(|a, b| a.1.key.cmp(&b.1.key));
        for (g, s) in read {
            out.entry(g).or_default().push(s);
        }
    }
    out
}

/// Each adapter whose DHCP gateway MAC a signature names gets that profile's name (the most
/// recently connected such profile: the history is in that order).
fn join_adapters(report: &mut Report) {
    for a in &mut report.adapters {
        let Some(mac) = a.dhcp_lease.as_ref().and_then(|l| l.gateway_mac.as_deref()) else { continue };
        a.network_profile = report
            .network_history
            .iter()
            .find(|p| {
                p.signatures.iter().any(|s| s.gateway_mac.as_deref().is_some_and(|g| g.eq_ignore_ascii_case(mac)))
            })
            .map(|p| p.name.clone().unwrap_or_else(|| p.guid.clone()));
    }
}
