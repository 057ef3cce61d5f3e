//! A Linux guest's report: its OS (`os-release`) and host name, read through the guest view.
//! Its network configuration is not read yet: the report says so in a warning.

use crate::report::{ControlSetSource, HiveState, OsInfo, Report, Warning, SCHEMA_VERSION};
use regnet_image::guest::GuestView;
use regnet_image::ImageError;

/// Largest os-release or hostname file read (they are a few hundred bytes).
const SMALL_FILE: u64 = 64 << 10;

/// The report of the Linux guest `view` shows, and the guest files read for it.
pub(crate) fn report(view: &mut GuestView<'_>) -> (Report, Vec<String>) {
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    // os-release(5): /etc/os-release, else /usr/lib/os-release.
    let mut os = OsInfo { family: "linux".into(), ..OsInfo::default() };
    for path in ["/etc/os-release", "/usr/lib/os-release"] {
        match small_file(view, path) {
            Ok(Some(text)) => {
                files.push(path.to_owned());
                fill_os(&mut os, &text);
                break;
            }
            Ok(None) => {}
            Err(e) => warnings.push(warn("os_release", format!("{path}: {e}"))),
        }
    }
    let mut hostname = None;
    for path in ["/etc/hostname", "/etc/HOSTNAME"] {
        match small_file(view, path) {
            Ok(Some(text)) => {
                files.push(path.to_owned());
                hostname = parse_hostname(&text);
                break;
            }
            Ok(None) => {}
            Err(e) => warnings.push(warn("hostname", format!("{path}: {e}"))),
        }
    }
    warnings.push(warn(
        "linux_network_not_read",
        "this version of regnet finds Linux guests and their OS but does not read their network configuration yet: the report lists no adapters".into(),
    ));
    let report = Report {
        schema_version: SCHEMA_VERSION,
        hostname,
        hostname_pending: None,
        computer_name: None,
        domain: None,
        domain_pending: None,
        search_list: Vec::new(),
        ip_forwarding: false,
        control_set: 0,
        control_set_source: ControlSetSource::None,
        hive: HiveState::default(),
        adapters: Vec::new(),
        routes: Vec::new(),
        warnings,
        source: None,
        vm: None,
        os: Some(os),
    };
    (report, files)
}

fn warn(code: &str, message: String) -> Warning {
    Warning { code: code.into(), message, key: None, value: None }
}

/// A small text file of the guest, or `None` when it does not exist (a dangling link counts as
/// missing: `/etc/os-release` may point into a `/run` that does not exist offline).
fn small_file(view: &mut GuestView<'_>, path: &str) -> Result<Option<String>, ImageError> {
    let node = match view.resolve(path) {
        Ok(n) => n,
        Err(ImageError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    if node.size > SMALL_FILE {
        return Err(ImageError::LimitExceeded {
            limit: "os-release and hostname size",
            value: node.size,
            max: SMALL_FILE,
        });
    }
    let bytes = view.read(path)?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// os-release(5): `KEY=value` lines, values optionally quoted with `"` or `'`, backslash escapes
/// inside double quotes; `#` comments and blank lines skipped; later keys win.
fn fill_os(os: &mut OsInfo, text: &str) {
    for line in text.lines().take(1000) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else { continue };
        let value = unquote(raw.trim());
        let v = Some(value.clone()).filter(|v| !v.is_empty());
        match key.trim() {
            "ID" => os.id = v,
            "NAME" => os.name = v,
            "VERSION" => os.version = v,
            "VERSION_ID" => os.version_id = v,
            "PRETTY_NAME" => os.pretty_name = v,
            "ID_LIKE" => os.id_like = value.split_whitespace().map(str::to_owned).collect(),
            _ => {}
        }
    }
}

fn unquote(raw: &str) -> String {
    let mut chars = raw.chars();
    match chars.next() {
        Some(q @ ('"' | '\'')) => {
            let mut out = String::new();
            let mut escaped = false;
            for c in chars {
                if escaped {
                    out.push(c);
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    break;
                } else {
                    out.push(c);
                }
            }
            out
        }
        _ => raw.to_owned(),
    }
}

/// hostname(5): the first line that is not a comment, trimmed; `localhost` names no host.
fn parse_hostname(text: &str) -> Option<String> {
    let line = text.lines().take(1000).map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let name = line.split_whitespace().next()?;
    let localhost = ["localhost", "localhost.localdomain", "localhost6", "localhost6.localdomain6"];
    (!localhost.contains(&name.to_ascii_lowercase().as_str()) && name.len() <= 253).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use regnet_image::guest::{GuestLimits, MemoryFs};

    #[test]
    fn os_release_and_hostname() {
        let mut fs = MemoryFs::new();
        fs.add_file(
            "/usr/lib/os-release",
            b"# comment\nPRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nVERSION=\"24.04.1 LTS (Noble Numbat)\"\nID=ubuntu\nID_LIKE=debian\nNOTE='it''s'\nBAD LINE\nESC=\"a\\\"b\"\n",
        );
        fs.add_link("/etc/os-release", "../usr/lib/os-release");
        fs.add_file("/etc/hostname", b"# set by cloud-init\n\n  web01  \n");
        let mut view = GuestView::new(Box::new(fs), GuestLimits::default());
        let (r, files) = report(&mut view);
        let os = r.os.unwrap();
        assert_eq!(os.id.as_deref(), Some("ubuntu"));
        assert_eq!(os.name.as_deref(), Some("Ubuntu"));
        assert_eq!(os.version_id.as_deref(), Some("24.04"));
        assert_eq!(os.pretty_name.as_deref(), Some("Ubuntu 24.04.1 LTS"));
        assert_eq!(os.id_like, ["debian"]);
        assert_eq!(r.hostname.as_deref(), Some("web01"));
        assert_eq!(files, ["/etc/os-release", "/etc/hostname"]);
        assert_eq!(r.control_set_source, ControlSetSource::None);
        assert!(r.warnings.iter().any(|w| w.code == "linux_network_not_read"));
        assert_eq!(unquote("\"a\\\"b\""), "a\"b");
        assert_eq!(unquote("'x y'"), "x y");
    }

    #[test]
    fn localhost_is_no_name_and_missing_files_are_fine() {
        assert_eq!(parse_hostname("localhost\n"), None);
        assert_eq!(parse_hostname("# only a comment\n"), None);
        assert_eq!(parse_hostname("db02.example.com extra\n").as_deref(), Some("db02.example.com"));
        let mut fs = MemoryFs::new();
        fs.add_dir("/etc");
        fs.add_link("/etc/os-release", "/run/os-release");
        fs.add_file("/etc/HOSTNAME", b"suse15\n");
        let mut view = GuestView::new(Box::new(fs), GuestLimits::default());
        let (r, files) = report(&mut view);
        assert_eq!(r.os.unwrap().id, None);
        assert_eq!(r.hostname.as_deref(), Some("suse15"));
        assert_eq!(files, ["/etc/HOSTNAME"]);
    }

    #[test]
    fn an_oversized_or_looping_file_is_a_warning() {
        let mut fs = MemoryFs::new();
        fs.add_file("/etc/os-release", &vec![b'#'; 100_000]);
        fs.add_link("/etc/hostname", "hostname");
        let mut view = GuestView::new(Box::new(fs), GuestLimits::default());
        let (r, _) = report(&mut view);
        let codes: Vec<&str> = r.warnings.iter().map(|w| w.code.as_str()).collect();
        assert!(codes.contains(&"os_release") && codes.contains(&"hostname"), "{codes:?}");
    }
}
