//! A VM configuration file as input: find the guest among the VM's disks, read it, and join each
//! guest adapter to the VM NIC with the same MAC address, which names its production network.
//!
//! The configuration layer (`regnet-vmconfig`) only parses; this module decides which files may be
//! opened (the disks a file names resolve like every other name an image gives: inside the
//! configuration file's folder or an allowed folder, never elsewhere), which disk holds the guest,
//! and what the join says about the adapters.

use crate::error::{Error, Result};
use crate::guest::{self, MachineDisk};
use crate::image::{ExtractOptions, OpenedDisk};
use crate::report::{Report, VmDiskInfo, VmInfo, VmNicInfo, Warning};
use regnet_image::{Counters, DirResolver, FileSource, ImageError, NoResolver, Resolver};
use regnet_vmconfig::{ConfigKind, DiskLocation, VmConfig};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Most NICs or adapters a warning lists (a crafted file may have thousands).
const LISTED: usize = 16;

/// How much of a file [`detect`] looks at.
const HEAD: u64 = 4096;

/// The kind of VM configuration file `src` is, if it is one (from its first bytes).
pub(crate) fn detect(src: &mut FileSource) -> Result<Option<ConfigKind>> {
    let n = src.len().min(HEAD);
    let mut head = vec![0u8; usize::try_from(n).unwrap_or(0)];
    src.read_exact_at(0, &mut head, "file head")?;
    Ok(regnet_vmconfig::detect(&head))
}

/// What a VM configuration file says of the VM (no disk is opened), or `None` when `path` is not
/// a VM configuration file.
///
/// ```
/// # let vmx = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/vm/web01.vmx");
/// let vm = regnet::vm_info(vmx, &regnet::ExtractOptions::default())?.expect("a .vmx file");
/// assert_eq!(vm.hypervisor, "vmware");
/// assert!(!vm.nics.is_empty());
/// # Ok::<(), regnet::Error>(())
/// ```
pub fn vm_info(path: impl AsRef<Path>, opts: &ExtractOptions) -> Result<Option<VmInfo>> {
    let path = path.as_ref();
    let counters = Arc::new(Counters::default());
    let mut src = FileSource::open_path(path, counters, &opts.image_limits)?;
    let Some(kind) = detect(&mut src)? else { return Ok(None) };
    let config = read_config(path, &mut src, kind, opts)?;
    Ok(Some(info_of(&config, path, kind)))
}

fn read_config(path: &Path, src: &mut FileSource, kind: ConfigKind, opts: &ExtractOptions) -> Result<VmConfig> {
    let config_err = |source| Error::VmConfig { path: path.display().to_string(), source };
    match kind {
        ConfigKind::Ova => regnet_vmconfig::parse_ova(&mut SourceReader::new(src), &opts.vm_limits),
        _ => {
            let max = opts.vm_limits.max_config_bytes;
            let bytes = src.read_vec_at(0, src.len(), "VM configuration file", "max_config_bytes", max)?;
            regnet_vmconfig::parse(kind, &bytes, &opts.vm_limits)
        }
    }
    .map_err(config_err)
}

fn info_of(config: &VmConfig, path: &Path, kind: ConfigKind) -> VmInfo {
    VmInfo {
        name: config.name.clone(),
        config: path.display().to_string(),
        config_kind: Some(kind_name(kind).to_owned()),
        hypervisor: config.hypervisor.clone(),
        guest_os: config.guest_os.clone(),
        system_disk: None,
        disks: config.disks.iter().map(disk_info).collect(),
        nics: config
            .nics
            .iter()
            .map(|n| VmNicInfo {
                mac: n.mac.clone(),
                network: n.network.clone(),
                vlan: n.vlan,
                device: n.device.clone(),
                label: Some(n.label.clone()),
                adapter: None,
            })
            .collect(),
    }
}

/// The report of the VM whose configuration file is `src` (at `path`).
pub(crate) fn extract_vm(
    path: &Path,
    mut src: FileSource,
    kind: ConfigKind,
    counters: Arc<Counters>,
    opts: &ExtractOptions,
) -> Result<Report> {
    let shown = path.display().to_string();
    let config = read_config(path, &mut src, kind, opts)?;
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let resolver = DirResolver::new(folder, &opts.allow_dirs, counters.clone(), opts.image_limits);
    let vm_name = config.name.clone().unwrap_or_else(|| shown.clone());

    // Every disk (or the one asked for) is opened and searched; exactly one may hold the guest.
    let wanted = opts.disk.as_deref().map(str::trim);
    if let Some(w) = wanted {
        if !config.disks.iter().enumerate().any(|(i, d)| w == d.device || w.parse::<usize>().ok() == Some(i + 1)) {
            return Err(Error::NoSystemDisk {
                vm: vm_name,
                detail: format!("it has no disk {w:?}; its disks: {}", disk_list(&config)),
            });
        }
    }
    if config.disks.is_empty() {
        return Err(Error::NoSystemDisk { vm: vm_name, detail: "its configuration lists no disk".into() });
    }
    // Every disk (or the one asked for) is opened; the guest is then looked for across all of them
    // (an LVM volume group may span disks). A disk that cannot be opened is noted.
    let mut disks: Vec<MachineDisk> = Vec::new();
    let mut disk_index: Vec<usize> = Vec::new();
    let mut failed: Vec<String> = Vec::new();
    for (i, d) in config.disks.iter().enumerate() {
        if let Some(w) = wanted {
            if w != d.device && w.parse::<usize>().ok() != Some(i + 1) {
                continue;
            }
        }
        let label = format!("disk {} ({})", d.device, location_name(&d.location));
        match open_disk(path, &d.location, &resolver, folder, &counters, opts) {
            Ok(disk) => {
                disks.push(disk.into_machine_disk(label));
                disk_index.push(i);
            }
            Err(e) => failed.push(format!("{label}: {e}")),
        }
    }
    let survey = guest::survey(&disks, opts);
    let chosen = match guest::choose(&survey, opts) {
        Ok(c) => c,
        Err(Error::NoWindows(detail)) => {
            let mut all = failed;
            if !disks.is_empty() {
                all.push(detail);
            }
            return Err(Error::NoSystemDisk { vm: vm_name, detail: all.join("; ") });
        }
        Err(Error::Ambiguous(detail)) => return Err(Error::AmbiguousDisks { vm: vm_name, detail }),
        Err(e) => return Err(e),
    };
    let machine_disk = crate::image::chosen_disk(&disks, &survey, &chosen);
    let system = disk_index.get(machine_disk).and_then(|i| config.disks.get(*i)).map(disk_info);
    let image_name = system.as_ref().map_or_else(String::new, |d| d.file.clone());
    let mut report = crate::image::report_from_chosen(&disks, &survey, &chosen, &image_name, &counters, opts)?;
    if let Some(d) = disks.get(machine_disk) {
        let chain = d.shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner).warnings();
        for w in chain {
            report.warnings.push(warning("disk_chain", w));
        }
    }
    // Disks that could not be read are worth saying even when the guest was found elsewhere.
    for n in failed {
        report.warnings.push(warning("vm_disk_not_read", n));
    }
    for w in &config.warnings {
        report.warnings.push(warning("vm_config", w.clone()));
    }
    let mut info = info_of(&config, path, kind);
    info.system_disk = system;
    join_adapters(&mut report, &mut info);
    report.vm = Some(info);
    Ok(report)
}

/// Opens one disk of the VM: a file through the folder policy, or a member of the OVA.
fn open_disk(
    config_path: &Path,
    location: &DiskLocation,
    resolver: &DirResolver,
    folder: &Path,
    counters: &Arc<Counters>,
    opts: &ExtractOptions,
) -> Result<OpenedDisk> {
    match location {
        DiskLocation::File(name) => {
            let real = resolver.resolve(name, "VM disk")?;
            let src = FileSource::open_path(&real, counters.clone(), &opts.image_limits)?;
            // The disk's own references (extents, parents) resolve from its folder, which the
            // policy has just accepted, and may also use the configuration's folder.
            let base = real.parent().unwrap_or(folder);
            let mut allowed: Vec<PathBuf> = vec![folder.to_owned()];
            allowed.extend(opts.allow_dirs.iter().cloned());
            let disk_resolver = DirResolver::new(base, &allowed, counters.clone(), opts.image_limits);
            OpenedDisk::open(src, &disk_resolver, opts)
        }
        DiskLocation::ArchiveMember { name, offset, len } => {
            let file =
                std::fs::File::open(config_path).map_err(|e| Error::Io { path: config_path.to_owned(), source: e })?;
            let window = Window::new(file, *offset, *len);
            let shown = format!("{}/{name}", config_path.display());
            let src = FileSource::new(shown, Box::new(window), counters.clone(), &opts.image_limits)?;
            // A disk inside an archive may name no other file.
            let none: &dyn Resolver = &NoResolver;
            OpenedDisk::open(src, none, opts)
        }
        _ => Err(Error::Image(ImageError::Unsupported("a VM disk location of a kind this version cannot open".into()))),
    }
}

fn location_name(l: &DiskLocation) -> String {
    match l {
        DiskLocation::File(name) => name.clone(),
        DiskLocation::ArchiveMember { name, .. } => name.clone(),
        _ => String::from("?"),
    }
}

fn disk_info(d: &regnet_vmconfig::VmDisk) -> VmDiskInfo {
    VmDiskInfo { device: d.device.clone(), file: location_name(&d.location) }
}

fn disk_list(config: &VmConfig) -> String {
    let list: Vec<String> = config
        .disks
        .iter()
        .enumerate()
        .map(|(i, d)| format!("{} = {} ({})", i + 1, d.device, location_name(&d.location)))
        .collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

pub(crate) fn kind_name(k: ConfigKind) -> &'static str {
    match k {
        ConfigKind::Vmx => "vmx",
        ConfigKind::Ovf => "ovf",
        ConfigKind::Ova => "ova",
        ConfigKind::Libvirt => "libvirt",
        _ => "other",
    }
}

fn warning(code: &str, message: String) -> Warning {
    Warning { code: code.into(), message, key: None, value: None }
}

/// `00:50:56:9a:3c:1f`, `00-50-56-9A-3C-1F` and `005056 9A3C1F` all become `00:50:56:9A:3C:1F`.
fn canonical_mac(s: &str) -> Option<String> {
    let hex: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    if hex.len() != 12 || s.bytes().any(|b| !(b.is_ascii_hexdigit() || b":-. ".contains(&b))) {
        return None;
    }
    let upper = String::from_utf8(hex.to_ascii_uppercase()).ok()?;
    let pairs: Vec<&str> = (0..6).filter_map(|i| upper.get(i * 2..i * 2 + 2)).collect();
    Some(pairs.join(":"))
}

/// Joins adapters and VM NICs by MAC: each matched adapter takes its NIC's production network;
/// what matches nothing on either side is a warning naming both sides.
fn join_adapters(report: &mut Report, info: &mut VmInfo) {
    use std::collections::BTreeMap;
    let mut by_mac: BTreeMap<String, usize> = BTreeMap::new();
    for (i, n) in info.nics.iter().enumerate() {
        if let Some(mac) = n.mac.as_deref().and_then(canonical_mac) {
            if by_mac.insert(mac.clone(), i).is_some() {
                report.warnings.push(warning(
                    "vm_duplicate_mac",
                    format!("two NICs of the VM have MAC {mac}; adapters join the first of them"),
                ));
                // Keep the first.
                if let Some(first) =
                    info.nics.iter().position(|n| n.mac.as_deref().and_then(canonical_mac).as_deref() == Some(&mac))
                {
                    by_mac.insert(mac, first);
                }
            }
        }
    }
    let nic_list = || {
        let mut l: Vec<String> = info
            .nics
            .iter()
            .take(LISTED)
            .map(|n| {
                format!(
                    "{} {} on {}",
                    n.label.as_deref().unwrap_or("?"),
                    n.mac.as_deref().unwrap_or("(no MAC)"),
                    n.network.as_deref().unwrap_or("(no network)")
                )
            })
            .collect();
        if info.nics.len() > LISTED {
            l.push(format!("and {} more", info.nics.len() - LISTED));
        }
        if l.is_empty() {
            "none".to_owned()
        } else {
            l.join(", ")
        }
    };
    let listed = nic_list();
    let vm = info.name.clone().unwrap_or_else(|| info.config.clone());
    let mut joined = vec![false; info.nics.len()];
    let mut unmatched_adapters: Vec<String> = Vec::new();
    for a in &mut report.adapters {
        let mac = a.mac.as_deref().and_then(canonical_mac);
        match mac.as_ref().and_then(|m| by_mac.get(m)).copied() {
            Some(i) => {
                if let Some(n) = info.nics.get_mut(i) {
                    a.network = n.network.clone();
                    a.set_present_from_vm_config(true);
                    if !joined.get(i).copied().unwrap_or(false) {
                        n.adapter = Some(a.guid.clone());
                    }
                    if let Some(j) = joined.get_mut(i) {
                        *j = true;
                    }
                }
            }
            // Software adapters (WAN miniports, loopback, tunnels) are no NIC of the VM.
            None if a.physical == Some(false) => {}
            None => {
                let who = format!(
                    "{} {} (MAC {})",
                    a.name.as_deref().unwrap_or("unnamed adapter"),
                    a.guid,
                    a.mac.as_deref().unwrap_or("unknown")
                );
                if mac.is_some() && !by_mac.is_empty() {
                    a.set_present_from_vm_config(false);
                }
                unmatched_adapters.push(who);
            }
        }
    }
    for who in unmatched_adapters {
        report.warnings.push(warning(
            "adapter_without_vm_nic",
            format!("guest adapter {who} matches no NIC of VM {vm} by MAC (the VM's NICs: {listed}); it is a NIC the VM no longer has, or its MAC was changed in the guest"),
        ));
    }
    let physical: Vec<&crate::report::Adapter> = report.adapters.iter().filter(|a| a.physical != Some(false)).collect();
    let mut adapters: Vec<String> = physical
        .iter()
        .take(LISTED)
        .map(|a| format!("{} {}", a.name.as_deref().unwrap_or(&a.guid), a.mac.as_deref().unwrap_or("(no MAC)")))
        .collect();
    if physical.len() > LISTED {
        adapters.push(format!("and {} more", physical.len() - LISTED));
    }
    for (n, j) in info.nics.iter().zip(&joined) {
        if !j {
            report.warnings.push(warning(
                "vm_nic_without_adapter",
                format!(
                    "NIC {} of VM {vm} ({} on {}) matches no guest adapter by MAC (the guest's adapters: {})",
                    n.label.as_deref().unwrap_or("?"),
                    n.mac.as_deref().unwrap_or("no MAC in the configuration"),
                    n.network.as_deref().unwrap_or("no network"),
                    if adapters.is_empty() { "none".to_owned() } else { adapters.join(", ") }
                ),
            ));
        }
    }
}

/// `Read + Seek` over a [`FileSource`], for parsers that stream (the OVA's tar headers). Reads
/// are counted like every other read of the image.
struct SourceReader<'s> {
    src: &'s mut FileSource,
    pos: u64,
}

impl<'s> SourceReader<'s> {
    fn new(src: &'s mut FileSource) -> Self {
        SourceReader { src, pos: 0 }
    }
}

impl Read for SourceReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.src.len().saturating_sub(self.pos);
        let n = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
        let Some(piece) = buf.get_mut(..n) else { return Ok(0) };
        if n == 0 {
            return Ok(0);
        }
        self.src.read_exact_at(self.pos, piece, "OVA archive").map_err(std::io::Error::other)?;
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

impl Seek for SourceReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = seek_to(self.pos, self.src.len(), to)?;
        Ok(self.pos)
    }
}

/// The new position of a seek; before the start is an error, past the end is allowed (reads
/// there return nothing).
fn seek_to(pos: u64, len: u64, to: SeekFrom) -> std::io::Result<u64> {
    let new = match to {
        SeekFrom::Start(n) => Some(n),
        SeekFrom::End(d) => len.checked_add_signed(d),
        SeekFrom::Current(d) => pos.checked_add_signed(d),
    };
    new.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start or past 2^64"))
}

/// A window of a file: `len` bytes from `start` (an OVA member), as a stream of its own.
struct Window {
    file: std::fs::File,
    start: u64,
    len: u64,
    pos: u64,
}

impl Window {
    fn new(file: std::fs::File, start: u64, len: u64) -> Self {
        Window { file, start, len, pos: 0 }
    }
}

impl Read for Window {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        let n = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
        let Some(piece) = buf.get_mut(..n) else { return Ok(0) };
        if n == 0 {
            return Ok(0);
        }
        let at = self.start.checked_add(self.pos).ok_or_else(|| std::io::Error::other("window offset overflows"))?;
        self.file.seek(SeekFrom::Start(at))?;
        let got = self.file.read(piece)?;
        self.pos = self.pos.saturating_add(got as u64);
        Ok(got)
    }
}

impl Seek for Window {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = seek_to(self.pos, self.len, to)?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn macs_are_canonical() {
        assert_eq!(canonical_mac("00:50:56:9a:3c:1f").as_deref(), Some("00:50:56:9A:3C:1F"));
        assert_eq!(canonical_mac("00-50-56-9A-3C-1F").as_deref(), Some("00:50:56:9A:3C:1F"));
        assert_eq!(canonical_mac("005056.9a3c1f").as_deref(), Some("00:50:56:9A:3C:1F"));
        assert_eq!(canonical_mac("00:50:56:9a:3c"), None);
        assert_eq!(canonical_mac("00:50:56:9a:3c:1g"), None);
        assert_eq!(canonical_mac("zz:50:56:9a:3c:1f:00"), None);
    }

    #[test]
    fn seeks_are_checked() {
        assert_eq!(seek_to(5, 10, SeekFrom::Current(-5)).unwrap(), 0);
        assert!(seek_to(5, 10, SeekFrom::Current(-6)).is_err());
        assert_eq!(seek_to(0, 10, SeekFrom::End(0)).unwrap(), 10);
        assert!(seek_to(0, 10, SeekFrom::End(-11)).is_err());
        assert_eq!(seek_to(0, 10, SeekFrom::Start(20)).unwrap(), 20);
    }

    #[test]
    fn window_reads_only_its_part() {
        let dir = std::env::temp_dir().join(format!("regnet-window-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f");
        std::fs::write(&p, b"0123456789").unwrap();
        let mut w = Window::new(std::fs::File::open(&p).unwrap(), 3, 4);
        let mut s = String::new();
        w.read_to_string(&mut s).unwrap();
        assert_eq!(s, "3456");
        assert_eq!(w.seek(SeekFrom::End(-1)).unwrap(), 3);
        let mut b = [0u8; 8];
        assert_eq!(w.read(&mut b).unwrap(), 1);
        assert_eq!(b[0], b'6');
        w.seek(SeekFrom::Start(100)).unwrap();
        assert_eq!(w.read(&mut b).unwrap(), 0);
        let _ = std::fs::remove_dir_all(dir);
        let _ = Cursor::new(Vec::<u8>::new());
    }
}
