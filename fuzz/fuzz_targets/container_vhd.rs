//! Fuzz target: the input opened as vhd whatever its first bytes say (see regnet_fuzz::container_as).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| regnet_fuzz::container_as(data, regnet_image::ContainerFormat::Vhd));
