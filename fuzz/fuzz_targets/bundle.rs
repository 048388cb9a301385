//! Bundle reading (tar container, manifest, inventory, nodes.log) must never panic.
#![no_main]

use custody_verifier::bundle::{BundleFiles, Manifest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Manifest::parse(data);
    if let Ok(files) = BundleFiles::from_tar(data) {
        if let Some(manifest) = files.get("manifest.json") {
            let _ = Manifest::parse(manifest);
        }
    }
});
