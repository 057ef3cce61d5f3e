//! Finding the guest: every volume of every disk given (partitions, logical partitions, LVM
//! logical volumes, a bare volume) is classified, and exactly one may hold a guest's system: a
//! Windows volume (NTFS with `\Windows\System32\config\SYSTEM`) or a Linux root (ext2/3/4 or XFS
//! with `/etc` and an os-release file).

use crate::error::{Error, Result};
use crate::image::{ExtractOptions, SYSTEM_HIVE};
use regnet_image::guest::{FileSystem, FsKind, GuestLimits, GuestView, NodeKind};
use regnet_image::lvm::{self, PhysicalVolume, VolumeGroup};
use regnet_image::partition::{Filesystem, Partition, PartitionTable};
use regnet_image::{ext4, xfs, ContainerFormat, ImageError, ImageLimits, Region, SharedDisk, Volume};

/// One opened disk of the machine.
pub(crate) struct MachineDisk {
    /// The disk, shared by the volumes on it.
    pub(crate) shared: SharedDisk,
    /// Its container.
    pub(crate) format: ContainerFormat,
    /// Its partition table.
    pub(crate) table: PartitionTable,
    /// How messages name it (`disk scsi0:0 (web01.vmdk)`), empty for a lone image.
    pub(crate) label: String,
}

/// Where a volume is.
#[derive(Debug, Clone)]
pub(crate) enum VolumeRef {
    /// A partition (or the bare volume, number 0) of disk `disk`.
    Partition { disk: usize, partition: Partition },
    /// A logical volume of volume group `vg`.
    Lv { vg: usize, name: String },
}

/// What a volume holds.
#[derive(Debug, Clone)]
pub(crate) enum Holds {
    /// NTFS with the SYSTEM hive.
    Windows,
    /// A Linux root: its file system and the os-release text.
    Linux { fs: FsKind },
    /// Anything else, described for messages (`ext4 /boot`, `swap`, `LVM PV of VG rl`...).
    Other(String),
    /// A LUKS-encrypted volume.
    Luks,
    /// A Btrfs volume (not read yet).
    Btrfs,
    /// A BitLocker-encrypted volume.
    BitLocker,
}

/// The volumes found, what each holds, and the LVM state to reopen LVs.
pub(crate) struct Survey {
    /// Every volume with what it holds.
    pub(crate) volumes: Vec<(VolumeRef, Holds, String)>,
    /// The physical volumes found.
    pub(crate) pvs: Vec<PhysicalVolume>,
    /// The volume groups they form.
    pub(crate) vgs: Vec<VolumeGroup>,
    /// Things worth a warning in the report (LVM oddities).
    pub(crate) warnings: Vec<String>,
}

/// The guest chosen.
pub(crate) struct Chosen {
    /// Where it is.
    pub(crate) volume: VolumeRef,
    /// What it is.
    pub(crate) holds: Holds,
    /// How messages name it.
    pub(crate) name: String,
}

const MIB: u64 = 1 << 20;

/// Classifies every volume of `disks`.
pub(crate) fn survey(disks: &[MachineDisk], opts: &ExtractOptions) -> Survey {
    let limits = &opts.image_limits;
    let mut volumes = Vec::new();
    let mut regions: Vec<(usize, Partition, Region)> = Vec::new();
    let mut warnings = Vec::new();
    for (d, disk) in disks.iter().enumerate() {
        for p in &disk.table.partitions {
            let vref = VolumeRef::Partition { disk: d, partition: p.clone() };
            let name = describe_partition(disk, p);
            match Region::new(disk.shared.clone(), p.start, p.len) {
                Ok(region) => regions.push((d, p.clone(), region)),
                Err(e) => volumes.push((vref, Holds::Other(format!("unreadable: {e}")), name)),
            }
        }
    }
    // LVM first: a PV is a PV whatever else its first sectors look like.
    let mut pvs: Vec<PhysicalVolume> = Vec::new();
    for (d, p, region) in &regions {
        let vref = VolumeRef::Partition { disk: *d, partition: p.clone() };
        let name = disks.get(*d).map(|disk| describe_partition(disk, p)).unwrap_or_default();
        match lvm::probe(region, limits) {
            Ok(Some(pv)) => {
                let vg = pv.vg_name.clone().unwrap_or_else(|| "no volume group".into());
                volumes.push((vref, Holds::Other(format!("LVM physical volume of {vg}")), name));
                pvs.push(pv);
            }
            Ok(None) => {
                let holds = classify(region.clone(), p.filesystem, opts, disks.get(*d), Some(p));
                volumes.push((vref, holds, name));
            }
            Err(e) => volumes.push((vref, Holds::Other(format!("damaged LVM physical volume: {e}")), name)),
        }
    }
    let vgs = match lvm::assemble(&pvs, limits) {
        Ok(vgs) => vgs,
        Err(e) => {
            warnings.push(format!("LVM volume groups could not be assembled: {e}"));
            Vec::new()
        }
    };
    for (g, vg) in vgs.iter().enumerate() {
        warnings.extend(vg.warnings.iter().map(|w| format!("VG {}: {w}", vg.name)));
        // Hidden LVs are parts of others (a RAID leg's `_rimage_0` holds a whole copy of the file
        // system, a thin pool's data): only the LVs a user sees can be a guest's root.
        for lv in vg.lvs.iter().filter(|lv| lv.visible) {
            let vref = VolumeRef::Lv { vg: g, name: lv.name.clone() };
            let name = format!("LV {}/{} ({}, {} MiB)", vg.name, lv.name, lv.kind, lv.size / MIB);
            let holds = match &lv.readable {
                Err(why) => Holds::Other(format!("not readable: {why}")),
                Ok(()) => match lvm::open_lv(vg, &pvs, &lv.name) {
                    Ok(v) => classify_volume(Box::new(v), opts),
                    Err(e) => Holds::Other(format!("not readable: {e}")),
                },
            };
            volumes.push((vref, holds, name));
        }
    }
    Survey { volumes, pvs, vgs, warnings }
}

fn describe_partition(disk: &MachineDisk, p: &Partition) -> String {
    let on = if disk.label.is_empty() { String::new() } else { format!("{} ", disk.label) };
    let cut = if p.truncated { ", cut short: the image ends inside it" } else { "" };
    if p.number == 0 {
        format!("{on}bare volume ({} MiB{cut})", p.len / MIB)
    } else {
        format!("{on}partition {} ({} MiB at {:#x}{cut})", p.number, p.len / MIB, p.start)
    }
}

/// What a partition holds: NTFS is checked for Windows through the NTFS reader, anything else
/// through [`classify_volume`].
fn classify(
    region: Region,
    fs: Filesystem,
    opts: &ExtractOptions,
    disk: Option<&MachineDisk>,
    p: Option<&Partition>,
) -> Holds {
    match fs {
        Filesystem::Ntfs => {
            let (Some(disk), Some(p)) = (disk, p) else { return Holds::Other("NTFS".into()) };
            match has_system_hive(&disk.shared, p, &opts.image_limits) {
                Ok(true) => Holds::Windows,
                Ok(false) => Holds::Other(format!("NTFS, no {SYSTEM_HIVE}")),
                Err(e) => Holds::Other(format!("NTFS, unreadable: {e}")),
            }
        }
        Filesystem::BitLocker => Holds::BitLocker,
        Filesystem::Fat => Holds::Other("FAT (an EFI system partition?)".into()),
        _ => classify_volume(Box::new(region), opts),
    }
}

fn has_system_hive(shared: &SharedDisk, p: &Partition, limits: &ImageLimits) -> Result<bool> {
    let mut disk = shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut vol = regnet_image::ntfs::NtfsVolume::open(disk.as_mut(), p.start, p.len, limits)?;
    match vol.find(SYSTEM_HIVE) {
        Ok(_) => Ok(true),
        Err(ImageError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// What a volume that is not NTFS holds, from its signatures and, for ext4 and XFS, its files.
fn classify_volume(mut vol: Box<dyn Volume>, opts: &ExtractOptions) -> Holds {
    let mut head = [0u8; 4096];
    let n = usize::try_from(vol.len()).map_or(head.len(), |l| l.min(head.len()));
    let Some(h) = head.get_mut(..n) else { return Holds::Other("empty".into()) };
    if let Err(e) = vol.read_exact_at(0, h) {
        return Holds::Other(format!("unreadable: {e}"));
    }
    if h.starts_with(b"LUKS\xba\xbe") {
        return Holds::Luks;
    }
    if h.get(4086..4096) == Some(b"SWAPSPACE2") {
        return Holds::Other("swap".into());
    }
    let mut btrfs = [0u8; 8];
    if vol.len() >= 0x10048 && vol.read_exact_at(0x10040, &mut btrfs).is_ok() && &btrfs == b"_BHRfS_M" {
        return Holds::Btrfs;
    }
    if h.get(3..11) == Some(b"NTFS    ") {
        return Holds::Other("NTFS".into());
    }
    if matches!(xfs::probe(vol.as_mut()), Ok(true)) {
        return match xfs::XfsFs::open(vol, &opts.image_limits) {
            Ok(fs) => linux_or_other(Box::new(fs), FsKind::Xfs, "XFS"),
            Err(e) => Holds::Other(format!("XFS, unreadable: {e}")),
        };
    }
    if matches!(ext4::probe(vol.as_mut()), Ok(true)) {
        return match ext4::Ext4Fs::open(vol, &opts.image_limits) {
            Ok(fs) => linux_or_other(Box::new(fs), FsKind::Ext4, "ext4"),
            Err(e) => Holds::Other(format!("ext2/3/4, unreadable: {e}")),
        };
    }
    Holds::Other("unknown file system".into())
}

/// A Linux root has `/etc` and an os-release file; a `/boot` volume has a kernel or a boot loader.
fn linux_or_other(fs: Box<dyn FileSystem>, kind: FsKind, name: &str) -> Holds {
    let mut view = GuestView::new(fs, GuestLimits::default());
    let is_dir = |v: &mut GuestView<'_>, p: &str| v.resolve(p).is_ok_and(|n| n.kind == NodeKind::Dir);
    let is_file = |v: &mut GuestView<'_>, p: &str| v.resolve(p).is_ok_and(|n| n.kind == NodeKind::File);
    if is_dir(&mut view, "/etc") && (is_file(&mut view, "/etc/os-release") || is_file(&mut view, "/usr/lib/os-release"))
    {
        return Holds::Linux { fs: kind };
    }
    let boot = is_dir(&mut view, "/grub") || is_dir(&mut view, "/grub2") || is_dir(&mut view, "/loader/entries");
    let kernel = view.list("/").is_ok_and(|l| l.iter().any(|e| e.name.starts_with(b"vmlinuz")));
    if boot || kernel {
        return Holds::Other(format!("{name}, /boot"));
    }
    if is_dir(&mut view, "/etc") {
        return Holds::Other(format!("{name} with /etc but no os-release"));
    }
    Holds::Other(name.to_owned())
}

/// Opens the volume `v` refers to.
pub(crate) fn open_volume(disks: &[MachineDisk], s: &Survey, v: &VolumeRef) -> Result<Box<dyn Volume>> {
    match v {
        VolumeRef::Partition { disk, partition } => {
            let d = disks.get(*disk).ok_or_else(|| Error::NoWindows("no such disk".into()))?;
            Ok(Box::new(Region::new(d.shared.clone(), partition.start, partition.len)?))
        }
        VolumeRef::Lv { vg, name } => {
            let g = s.vgs.get(*vg).ok_or_else(|| Error::NoWindows("no such volume group".into()))?;
            Ok(Box::new(lvm::open_lv(g, &s.pvs, name)?))
        }
    }
}

/// `VG/LV` of a volume, when it is a logical volume.
pub(crate) fn lv_name(s: &Survey, v: &VolumeRef) -> Option<String> {
    match v {
        VolumeRef::Lv { vg, name } => s.vgs.get(*vg).map(|g| format!("{}/{name}", g.name)),
        VolumeRef::Partition { .. } => None,
    }
}

/// The guest: the volume asked for (`--partition N`, `--volume VG/LV`), or the only one holding a
/// system. None is an error saying what each volume holds; several an error listing them.
pub(crate) fn choose(s: &Survey, opts: &ExtractOptions) -> Result<Chosen> {
    let wanted = |v: &VolumeRef| match (v, opts.partition, opts.volume.as_deref()) {
        (_, None, None) => true,
        (VolumeRef::Partition { partition, .. }, Some(n), _) => partition.number == n,
        (VolumeRef::Lv { .. }, _, Some(want)) => lv_name(s, v).as_deref() == Some(want.trim_matches('/')),
        _ => false,
    };
    let mut found: Vec<&(VolumeRef, Holds, String)> = Vec::new();
    let mut notes = Vec::new();
    let (mut luks, mut btrfs, mut bitlocker) = (Vec::new(), Vec::new(), Vec::new());
    for entry in &s.volumes {
        let (v, holds, name) = entry;
        if !wanted(v) {
            continue;
        }
        match holds {
            Holds::Windows | Holds::Linux { .. } => found.push(entry),
            Holds::Luks => luks.push(format!("{name} is encrypted with LUKS")),
            Holds::Btrfs => btrfs.push(format!("{name} is Btrfs")),
            Holds::BitLocker => bitlocker.push(format!("{name} is encrypted with BitLocker (-FVE-FS-)")),
            Holds::Other(what) => notes.push(format!("{name}: {what}")),
        }
    }
    if let Some(n) = opts.partition {
        if !s
            .volumes
            .iter()
            .any(|(v, _, _)| matches!(v, VolumeRef::Partition { partition, .. } if partition.number == n))
        {
            return Err(Error::NoWindows(format!("there is no partition {n}; the disk has: {}", all(s))));
        }
    }
    if let Some(want) = &opts.volume {
        if !s.volumes.iter().any(|(v, _, _)| lv_name(s, v).as_deref() == Some(want.trim_matches('/'))) {
            return Err(Error::NoWindows(format!("there is no logical volume {want}; the disks have: {}", all(s))));
        }
    }
    match found.len() {
        1 => {
            let (volume, holds, name) = found.remove(0);
            Ok(Chosen { volume: volume.clone(), holds: holds.clone(), name: name.clone() })
        }
        0 if !luks.is_empty() || !bitlocker.is_empty() => {
            notes.extend(luks);
            notes.extend(bitlocker);
            notes.extend(btrfs);
            Err(Error::Encrypted(notes.join("; ")))
        }
        0 if !btrfs.is_empty() => {
            notes.extend(btrfs);
            Err(Error::Unsupported(format!(
                "{}: a Btrfs root cannot be read yet (ext2/3/4, XFS and NTFS can)",
                notes.join("; ")
            )))
        }
        0 if notes.is_empty() => Err(Error::NoWindows("the disk has no partitions".into())),
        0 => Err(Error::NoWindows(notes.join("; "))),
        _ => Err(Error::Ambiguous(
            found
                .iter()
                .map(|(v, h, name)| {
                    let what = match h {
                        Holds::Windows => "Windows".to_owned(),
                        Holds::Linux { fs } => format!("Linux root, {}", fs.name()),
                        _ => String::new(),
                    };
                    let how = match v {
                        VolumeRef::Partition { partition, .. } => format!("--partition {}", partition.number),
                        VolumeRef::Lv { .. } => format!("--volume {}", lv_name(s, v).unwrap_or_default()),
                    };
                    format!("{name}: {what} ({how})")
                })
                .collect::<Vec<_>>()
                .join("; "),
        )),
    }
}

fn all(s: &Survey) -> String {
    s.volumes.iter().map(|(_, h, name)| format!("{name}: {}", holds_text(h))).collect::<Vec<_>>().join("; ")
}

fn holds_text(h: &Holds) -> String {
    match h {
        Holds::Windows => "Windows".into(),
        Holds::Linux { fs } => format!("Linux root ({})", fs.name()),
        Holds::Other(w) => w.clone(),
        Holds::Luks => "LUKS-encrypted".into(),
        Holds::Btrfs => "Btrfs".into(),
        Holds::BitLocker => "BitLocker-encrypted".into(),
    }
}
