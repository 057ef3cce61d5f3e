//! Fuzz target: the input opened as an EWF (E01) segment whatever its first bytes say (see
//! regnet_fuzz::container_as); a set of several segments stops at the second (a stream has no folder).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| regnet_fuzz::container_as(data, regnet_image::ContainerFormat::Ewf));
