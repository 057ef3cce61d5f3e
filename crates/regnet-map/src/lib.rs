//! # regnet-map
//!
//! When a tenant's VMs fail over to a cloud host, each replica NIC must land in a cloud network that
//! stands in for its production network, and the provider's network extension appliance (NEA) must
//! take the production gateway's address there. This crate decides both, from
//!
//! - one [`VmInput`] per replicated VM: a regnet [`Report`] (a Windows VM regnet read), or a
//!   [`OtherVm`] file naming the production network of each NIC of a VM regnet could not read;
//! - the [`Plan`]: the cloud networks available to the tenant, in order;
//! - optionally a [`Table`]: production network (an IPv4 subnet or a label) → cloud network.
//!
//! The rules (docs/mapping.md has them with the JSON schema):
//! - A production network is the name of a NIC's network when its VM's configuration file (or the
//!   caller) gives one, else the IPv4 subnet of each of its addresses. A named network's subnet is
//!   the one its guests' NICs agree on, and a NIC without a name in that subnet joins it.
//! - Without a table, when every VM's settings were read by regnet and the number of distinct
//!   production networks equals the number of cloud networks, they are mapped one to one:
//!   production networks ascending by subnet (a named network by its subnet), then named networks
//!   without a subnet by name, onto the cloud networks in plan order. The result says it was
//!   automatic.
//! - With a table every production network must be mapped (by name or subnet), several may share a
//!   cloud network, and an entry naming an unknown cloud network is an error.
//! - Adapters a report marks absent (NICs the VM no longer has) are left out, with a warning,
//!   unless [`MapOptions::include_absent`].
//! - Errors name the VMs involved: different gateways on one network, guests on one named network
//!   in different subnets, one subnet under two names, overlapping subnets, a NIC whose subnets map
//!   to different cloud networks.
//!
//! ```
//! use regnet_map::{map, Plan, VmInput};
//! # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/SYSTEM");
//! let report = regnet::report_from_hive_file(path, &regnet::Options::default())?;
//! let plan: Plan = serde_json::from_str(r#"{"networks": [{"name": "cn-a", "vlan": 10}, {"name": "cn-b"}]}"#)?;
//! let m = map(&[VmInput::windows(report)], &plan, None)?;
//! assert!(m.automatic);
//! assert_eq!(m.cloud_networks[0].production_networks[0].network, "10.41.7.0/24");
//! assert_eq!(m.cloud_networks[0].production_networks[0].gateway, Some("10.41.7.1".parse()?));
//! assert_eq!(m.vms[0].nics[1].cloud_network, "cn-b");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod model;
mod rules;

pub use model::*;
pub use regnet::Report;
pub use rules::{map, map_with, MapError};
