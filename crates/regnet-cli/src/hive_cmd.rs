//! `regnet hive`: the network settings in a SYSTEM hive.

use crate::CliError;
use regnet::{Options, Report};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The SYSTEM hive (a copy of \Windows\System32\config\SYSTEM).
    hive: PathBuf,
    /// The first transaction log (default: SYSTEM.LOG1 beside the hive, any case).
    #[arg(long, value_name = "FILE")]
    log1: Option<PathBuf>,
    /// The second transaction log (default: SYSTEM.LOG2 beside the hive, any case).
    #[arg(long, value_name = "FILE")]
    log2: Option<PathBuf>,
    /// Do not replay transaction logs, even when the hive is dirty.
    #[arg(long, conflicts_with_all = ["log1", "log2"])]
    no_logs: bool,
    /// The SOFTWARE hive, for the OS version and network history (default: SOFTWARE beside the
    /// SYSTEM hive, any case); its logs are found beside it.
    #[arg(long, value_name = "FILE")]
    software: Option<PathBuf>,
    /// Do not read a SOFTWARE hive.
    #[arg(long, conflicts_with = "software")]
    no_software: bool,
    /// `json` is the documented contract (docs/report.md); `table` is a summary for people.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Read the files instead of memory-mapping them (for files another process may be changing).
    #[arg(long)]
    no_mmap: bool,
    /// Print what reading cost (bytes of the hive and logs, time) on stderr.
    #[arg(long)]
    stats: bool,
    /// Set a resource limit, e.g. `--limit max_hive_size=64M` (repeatable).
    #[arg(long = "limit", value_name = "NAME=VALUE", long_help = format!("Set a resource limit (repeatable), e.g. --limit max_hive_size=64M. Names: {}", crate::limits_opt::NAMES))]
    limits: Vec<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Json,
    Table,
}

pub fn run(args: &Args) -> Result<ExitCode, CliError> {
    let mut opts = Options::new();
    opts.no_logs = args.no_logs;
    opts.logs = [&args.log1, &args.log2].into_iter().flatten().cloned().collect();
    opts.software = args.software.clone();
    opts.no_software = args.no_software;
    let mut all = regnet::ExtractOptions::default();
    all.hive = opts;
    crate::limits_opt::apply(&args.limits, &mut all)?;
    let opts = all.hive;
    let started = std::time::Instant::now();
    let report =
        if args.no_mmap { regnet::report_from_hive_file(&args.hive, &opts) } else { report_mapped(&args.hive, &opts) }
            .map_err(|e| CliError::file(&args.hive, e))?;
    if args.stats {
        eprintln!(
            "regnet: {}: {} ms{}",
            args.hive.display(),
            started.elapsed().as_secs_f64() * 1e3,
            if args.no_mmap { " (files read whole)" } else { " (files memory-mapped: only the pages read are loaded)" }
        );
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let res = match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report).map_err(std::io::Error::from).and_then(|()| writeln!(out))
        }
        Format::Table => write!(out, "{}", table(&report)),
    }
    .and_then(|()| out.flush());
    match res {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(CliError(format!("writing output: {e}"))),
    }
}

/// The report with the hive and its logs memory-mapped read-only; replay reads the pages the logs
/// changed from the logs' mappings.
fn report_mapped(hive: &std::path::Path, opts: &Options) -> regnet::Result<Report> {
    let io = |p: &std::path::Path, e| regnet::Error::Io { path: p.to_owned(), source: e };
    let primary = crate::mapped::open(hive).map_err(|e| io(hive, e))?;
    let log_paths = if opts.no_logs {
        Vec::new()
    } else if opts.logs.is_empty() {
        regnet::find_logs(hive)
    } else {
        opts.logs.clone()
    };
    let mut logs = Vec::new();
    for p in &log_paths {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        logs.push((name, crate::mapped::open(p).map_err(|e| io(p, e))?));
    }
    let refs: Vec<regnet::hive::LogFile<'_>> =
        logs.iter().map(|(n, d)| regnet::hive::LogFile::new(n.clone(), d.as_ref())).collect();
    let mut report = regnet::report_from_hive_bytes(primary.as_ref(), &refs, opts)?;
    if let Some(sw) = regnet::software_for(hive, opts) {
        software_mapped(&mut report, &sw, opts);
    }
    Ok(report)
}

/// Adds the SOFTWARE hive at `path` (memory-mapped, with its logs beside it) to `report`; a file
/// that cannot be opened is a warning, as in [`regnet::add_software_file`].
fn software_mapped(report: &mut Report, path: &std::path::Path, opts: &Options) {
    let primary = match crate::mapped::open(path) {
        Ok(m) => m,
        Err(_) => return regnet::add_software_file(report, path, opts),
    };
    let mut logs = Vec::new();
    if !opts.no_logs {
        for p in regnet::find_logs(path) {
            match crate::mapped::open(&p) {
                Ok(m) => logs.push((p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), m)),
                Err(_) => return regnet::add_software_file(report, path, opts),
            }
        }
    }
    let refs: Vec<regnet::hive::LogFile<'_>> =
        logs.iter().map(|(n, d)| regnet::hive::LogFile::new(n.clone(), d.as_ref())).collect();
    regnet::add_software_bytes(report, primary.as_ref(), &refs, opts);
}

/// `, absent since …` for an adapter whose device was gone (a ghost), else nothing.
fn absence(a: &regnet::Adapter) -> String {
    if a.present != Some(false) {
        return String::new();
    }
    let p = a.presence.as_ref();
    match (p.and_then(|p| p.last_removal.as_deref()), p.map(|p| p.source)) {
        (_, Some(regnet::PresenceSource::VmConfig)) => ", absent from the VM configuration".into(),
        (Some(t), _) => format!(", absent since {t}"),
        _ => ", absent: no device".into(),
    }
}

fn category_name(c: regnet::NetworkCategory) -> &'static str {
    match c {
        regnet::NetworkCategory::Public => "public",
        regnet::NetworkCategory::Private => "private",
        regnet::NetworkCategory::Domain => "domain",
        _ => "?",
    }
}

fn name_type_name(t: regnet::NetworkNameType) -> &'static str {
    match t {
        regnet::NetworkNameType::Wired => "wired",
        regnet::NetworkNameType::Wireless => "wireless",
        regnet::NetworkNameType::Ppp => "ppp",
        regnet::NetworkNameType::MobileBroadband => "mobile broadband",
        _ => "?",
    }
}

/// A readable summary: host, OS, then one block per adapter, the network history (newest first),
/// routes and warnings.
pub fn table(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let or = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let _ = writeln!(
        s,
        "host        {}{}",
        or(&r.hostname),
        r.hostname_pending.as_ref().map(|p| format!(" (renamed to {p} at next boot)")).unwrap_or_default()
    );
    // The NetBIOS name, control set and hive lines mean something for Windows guests only.
    let windows = r.control_set_source != regnet::ControlSetSource::None;
    if windows {
        let _ = writeln!(s, "netbios     {}", or(&r.computer_name));
    }
    let _ = writeln!(s, "domain      {}", or(&r.domain));
    if !r.search_list.is_empty() {
        let _ = writeln!(s, "search      {}", r.search_list.join(", "));
    }
    if let Some(os) = r.os.as_ref().filter(|o| o.family == "windows" && (o.name.is_some() || o.version.is_some())) {
        let mut line = os.pretty_name.clone().or(os.name.clone()).unwrap_or_else(|| "Windows".into());
        if let Some(v) = &os.version {
            let _ = write!(line, " (version {v}");
            if let Some(e) = &os.edition {
                let _ = write!(line, ", {e}");
            }
            line.push(')');
        }
        if let Some(d) = &os.install_date {
            let _ = write!(line, ", installed {d}");
        }
        let _ = writeln!(s, "os          {line}");
    }
    if let Some(z) = r.os.as_ref().filter(|o| o.time_zone.is_some() || o.utc_offset_minutes.is_some()) {
        let off = z.utc_offset_minutes.map(|m| {
            format!(" (UTC{}{:02}:{:02})", if m < 0 { '-' } else { '+' }, m.unsigned_abs() / 60, m.unsigned_abs() % 60)
        });
        let _ = writeln!(s, "time zone   {}{}", z.time_zone.as_deref().unwrap_or("-"), off.unwrap_or_default());
    }
    if windows {
        let _ = writeln!(s, "control set {:03} ({:?})", r.control_set, r.control_set_source);
        let logs = if r.hive.logs_applied.is_empty() {
            String::new()
        } else {
            format!(", replayed {}", r.hive.logs_applied.join(" + "))
        };
        let _ = writeln!(s, "hive        {}{logs}", if r.hive.dirty { "dirty" } else { "clean" });
        if let Some(h) = &r.software_hive {
            let logs = if h.logs_applied.is_empty() {
                String::new()
            } else {
                format!(", replayed {}", h.logs_applied.join(" + "))
            };
            let _ = writeln!(s, "software    {}{logs}", if h.dirty { "dirty" } else { "clean" });
        }
        if let Some(t) = &r.tcpip_last_written {
            let _ = writeln!(s, "tcpip       changed {t}");
        }
    }
    let bare = |a: &&regnet::Adapter| {
        a.physical != Some(true)
            && a.ipv4.is_empty()
            && a.gateways.is_empty()
            && a.dns_servers.is_empty()
            && a.ipv6.is_empty()
    };
    for a in r.adapters.iter().filter(|a| !bare(a)) {
        let kind = match a.physical {
            Some(true) => "physical",
            Some(false) => "virtual",
            None => "no device entry",
        };
        let _ = writeln!(s, "\n{} {}  [{kind}{}]", or(&a.name), a.guid, absence(a));
        if let Some(d) = &a.description {
            let _ = writeln!(s, "  description  {d}");
        }
        if let Some(n) = &a.network {
            let _ = writeln!(s, "  network      {n}");
        }
        if let Some(n) = &a.network_profile {
            let _ = writeln!(s, "  profile      {n} (gateway MAC in the network history)");
        }
        if let Some(t) = &a.last_written {
            let _ = writeln!(s, "  changed      {t}");
        }
        if let Some(m) = &a.mac {
            let _ = writeln!(
                s,
                "  mac          {m} ({})",
                a.mac_source.map(|x| format!("{x:?}").to_lowercase()).unwrap_or_default()
            );
        }
        let ips: Vec<String> = a.ipv4.iter().map(|e| format!("{}/{}", e.address, e.prefix_len)).collect();
        let _ = writeln!(
            s,
            "  ipv4         {} {}",
            if a.dhcp { "dhcp" } else { "static" },
            if ips.is_empty() { "-".into() } else { ips.join(", ") }
        );
        if !a.gateways.is_empty() {
            let gws: Vec<String> = a
                .gateways
                .iter()
                .map(|g| match g.metric {
                    Some(m) => format!("{} (metric {m})", g.address),
                    None => g.address.to_string(),
                })
                .collect();
            let _ = writeln!(s, "  gateways     {}", gws.join(", "));
        }
        if !a.dns_servers.is_empty() {
            let dns: Vec<String> = a.dns_servers.iter().map(|d| d.to_string()).collect();
            let _ = writeln!(s, "  dns          {}", dns.join(", "));
        }
        if !a.dns_suffix.is_empty() {
            let _ = writeln!(s, "  dns suffix   {}", a.dns_suffix);
        }
        if let Some(l) = &a.dhcp_lease {
            let t = |raw: Option<u32>, utc: &Option<String>| match (raw, utc) {
                (_, Some(u)) => u.clone(),
                (Some(v), None) => format!("{v} (not a calendar time)"),
                _ => "-".into(),
            };
            let _ = writeln!(
                s,
                "  lease        from {} obtained {} expires {}",
                l.server.map(|x| x.to_string()).unwrap_or("-".into()),
                t(l.obtained, &l.obtained_utc),
                t(l.expires, &l.expires_utc)
            );
        }
        if !a.ipv6.is_empty() || a.dhcp6 {
            let mut v6: Vec<String> = a.ipv6.iter().map(|e| format!("{}/{}", e.address, e.prefix_len)).collect();
            if a.dhcp6 {
                v6.insert(0, "auto (DHCPv6/RA)".into());
            }
            let _ = writeln!(s, "  ipv6         {}", v6.join(", "));
        }
        if !a.ipv6_dns_servers.is_empty() {
            let v6: Vec<String> = a.ipv6_dns_servers.iter().map(|e| e.to_string()).collect();
            let _ = writeln!(s, "  ipv6 dns     {}", v6.join(", "));
        }
        if !a.dhcpv6_dns_servers.is_empty() {
            let v6: Vec<String> = a.dhcpv6_dns_servers.iter().map(|e| e.to_string()).collect();
            let _ = writeln!(s, "  dhcpv6 dns   {}", v6.join(", "));
        }
        if !a.wins_servers.is_empty() {
            let w: Vec<String> = a.wins_servers.iter().map(|e| e.to_string()).collect();
            let _ = writeln!(s, "  wins         {}", w.join(", "));
        }
        if let Some(n) = a.netbios {
            let _ = writeln!(
                s,
                "  netbios      {}",
                match n {
                    regnet::Netbios::FromDhcp => "from dhcp",
                    regnet::Netbios::Enabled => "enabled",
                    regnet::Netbios::Disabled => "disabled",
                    _ => "?",
                }
            );
        }
        if let Some(m) = a.mtu {
            let _ = writeln!(s, "  mtu          {m}");
        }
        if let Some(v) = a.vlan_id {
            let _ = writeln!(s, "  vlan         {v}");
        }
    }
    let idle: Vec<String> = r
        .adapters
        .iter()
        .filter(bare)
        .map(|a| a.description.clone().or(a.name.clone()).unwrap_or(a.guid.clone()))
        .collect();
    if !idle.is_empty() {
        let _ = writeln!(s, "\n{} virtual or unnamed adapters without IP settings: {}", idle.len(), idle.join(", "));
    }
    if !r.network_history.is_empty() {
        let _ = writeln!(s, "\nnetwork history (newest first)");
        for p in &r.network_history {
            let when = |utc: &Option<String>, local: &Option<String>, raw: &Option<String>| match (utc, local, raw) {
                (Some(u), _, _) => u.clone(),
                (None, Some(l), _) => format!("{l} local"),
                (None, None, Some(x)) => format!("impossible date {x}"),
                _ => "-".into(),
            };
            let kind = [
                p.category.map(|c| category_name(c).to_owned()),
                p.name_type.map(|t| name_type_name(t).to_owned()),
                p.managed.filter(|m| *m).map(|_| "managed".to_owned()),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
            let _ = writeln!(
                s,
                "  {}  last {}  first {}  [{kind}]",
                p.name.as_deref().unwrap_or(&p.guid),
                when(&p.last_connected, &p.last_connected_local, &p.last_connected_raw),
                when(&p.created, &p.created_local, &p.created_raw)
            );
            for g in &p.signatures {
                let mut parts = Vec::new();
                if let Some(m) = &g.gateway_mac {
                    parts.push(format!("gateway {m}"));
                }
                if let Some(d) = &g.dns_suffix {
                    parts.push(format!("dns suffix {d}"));
                }
                if let Some(f) = g.first_network.as_ref().filter(|f| p.name.as_ref() != Some(f)) {
                    parts.push(format!("first seen as {f}"));
                }
                if !parts.is_empty() {
                    let _ = writeln!(s, "      {}", parts.join(", "));
                }
            }
        }
    }
    if !r.routes.is_empty() {
        let _ = writeln!(s, "\nroutes");
        for rt in &r.routes {
            let _ = writeln!(
                s,
                "  {}/{} via {}{}{}",
                rt.destination,
                rt.prefix_len,
                rt.gateway,
                rt.metric.map(|m| format!(" metric {m}")).unwrap_or_default(),
                if rt.repeats_default_gateway { " (repeats a default gateway)" } else { "" }
            );
        }
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(s, "\nwarnings");
        for w in &r.warnings {
            let at = [w.key.as_deref(), w.value.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" : ");
            let _ = writeln!(
                s,
                "  [{}] {}{}",
                w.code,
                w.message,
                if at.is_empty() { String::new() } else { format!("  ({at})") }
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example report with adapter 0's presence replaced.
    fn with_presence(present: serde_json::Value, presence: serde_json::Value) -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/SYSTEM");
        let r = regnet::report_from_hive_file(path, &Options::default()).unwrap();
        let mut j = serde_json::to_value(&r).unwrap();
        j["adapters"][0]["present"] = present;
        j["adapters"][0]["presence"] = presence;
        table(&serde_json::from_value(j).unwrap())
    }

    #[test]
    fn absent_adapters_are_marked_in_the_table() {
        let times = serde_json::json!({"source": "device_times", "device_instance": "PCI\\A\\1",
            "last_arrival": "2019-01-01T00:00:00Z", "last_removal": "2019-02-01T10:00:00Z", "hive_present": false});
        let t = with_presence(serde_json::json!(false), times.clone());
        assert!(
            t.contains(
                "Ethernet0 {5C7A3E21-8F4B-4D2A-9E61-0B3F2A7C9D14}  [physical, absent since 2019-02-01T10:00:00Z]\n"
            ),
            "{t}"
        );
        assert!(t.contains("Backup {A1B2C3D4-1111-4E22-8F33-445566778899}  [physical]\n"), "{t}");

        let gone = serde_json::json!({"source": "device_instance", "device_instance": "PCI\\A\\1"});
        assert!(with_presence(serde_json::json!(false), gone).contains("  [physical, absent: no device]\n"));
        let vm = serde_json::json!({"source": "vm_config", "hive_present": true});
        assert!(
            with_presence(serde_json::json!(false), vm).contains("  [physical, absent from the VM configuration]\n")
        );
        // Present or unknown: nothing added.
        assert!(with_presence(serde_json::json!(true), times).contains("D14}  [physical]\n"));
        assert!(with_presence(serde_json::Value::Null, serde_json::Value::Null).contains("D14}  [physical]\n"));
    }
}
