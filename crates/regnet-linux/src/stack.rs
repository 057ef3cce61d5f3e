//! Which network stack the guest will run at boot: the services enabled under
//! `/etc/systemd/system/*.wants/` (what `systemctl enable` links there), and netplan's renderer.

use crate::files::{FileKind, GuestFiles};
use crate::model::{Limits, Warning};

/// The services that configure networks, as systemd unit names, with what they are.
pub(crate) const UNITS: [(&str, Service); 6] = [
    ("NetworkManager.service", Service::NetworkManager),
    ("systemd-networkd.service", Service::Networkd),
    ("networking.service", Service::Ifupdown),
    ("wicked.service", Service::Wicked),
    ("network.service", Service::Initscripts),
    ("ifup@.service", Service::Ifupdown),
];

/// A network service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Service {
    NetworkManager,
    Networkd,
    Ifupdown,
    Wicked,
    Initscripts,
}

/// The network services enabled at boot, in a fixed order, and the unit links found.
pub(crate) fn enabled_services(
    files: &mut dyn GuestFiles,
    limits: &Limits,
    warnings: &mut Vec<Warning>,
) -> Vec<Service> {
    let mut found = Vec::new();
    let base = "/etc/systemd/system";
    let dirs = match files.list(base) {
        Ok(Some(d)) => d,
        Ok(None) => return found,
        Err(e) => {
            warnings.push(Warning::new("unreadable", e.to_string(), Some(base)));
            return found;
        }
    };
    for (name, kind) in dirs.into_iter().take(limits.max_files) {
        if !name.ends_with(b".wants") || !matches!(kind, FileKind::Dir | FileKind::Link) {
            continue;
        }
        let dir = format!("{base}/{}", String::from_utf8_lossy(&name));
        let entries = match files.list(&dir) {
            Ok(Some(e)) => e,
            Ok(None) => continue,
            Err(e) => {
                warnings.push(Warning::new("unreadable", e.to_string(), Some(&dir)));
                continue;
            }
        };
        for (unit, _) in entries.into_iter().take(limits.max_files) {
            // `ifup@eth0.service` instances enable ifupdown for one interface.
            let unit = String::from_utf8_lossy(&unit).into_owned();
            let template = match unit.split_once('@') {
                Some((head, _)) => format!("{head}@.service"),
                None => unit.clone(),
            };
            if let Some((_, s)) = UNITS.iter().find(|(n, _)| *n == template) {
                // A unit masked to /dev/null in /etc/systemd/system is not enabled.
                let masked =
                    files.read_link(&format!("{base}/{template}")).ok().flatten().is_some_and(|t| t == b"/dev/null");
                if !masked && !found.contains(s) {
                    found.push(*s);
                }
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::MemFiles;

    #[test]
    fn enabled_units_are_found_and_masked_ones_are_not() {
        let mut f = MemFiles::new();
        f.link(
            "/etc/systemd/system/multi-user.target.wants/NetworkManager.service",
            "/usr/lib/systemd/system/NetworkManager.service",
        );
        f.link(
            "/etc/systemd/system/network-online.target.wants/networking.service",
            "/lib/systemd/system/networking.service",
        );
        f.link("/etc/systemd/system/multi-user.target.wants/systemd-networkd.service", "/usr/lib/systemd/system/x");
        f.link("/etc/systemd/system/systemd-networkd.service", "/dev/null");
        f.link("/etc/systemd/system/sys-subsystem-net-devices-eth0.device.wants/ifup@eth0.service", "/lib/x");
        let mut w = Vec::new();
        let s = enabled_services(&mut f, &Limits::default(), &mut w);
        assert_eq!(s, [Service::NetworkManager, Service::Ifupdown]);
        assert!(w.is_empty());
        assert!(enabled_services(&mut MemFiles::new(), &Limits::default(), &mut w).is_empty());
    }
}
