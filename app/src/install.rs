//! What makes natter installable (server side): the address of the service worker
//! (`public/sw.js`) for this build. The address carries the build's version and its hashed
//! asset names, so a new build is a new worker, with caches of its own (the worker deletes
//! older ones when it takes over). A build without content-hashed names has no worker at all:
//! a cached `natter.wasm` could be a stale one.

use std::sync::OnceLock;

use leptos::config::LeptosOptions;

/// `/sw.js?v=…&asset=…` for the running build, or `None` when its files are not hashed.
pub fn service_worker_url(options: &LeptosOptions) -> Option<&'static str> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        if !options.hash_files {
            return None;
        }
        // cargo-leptos writes `hash.txt` beside the server binary (as Leptos reads it).
        let path = std::env::current_exe()
            .ok()?
            .parent()?
            .join(&*options.hash_file);
        let hashes = std::fs::read_to_string(&path).ok()?;
        worker_url(options, &hashes)
    })
    .as_deref()
}

/// The worker's address from the lines of `hash.txt` (`js: …`, `wasm: …`, `css: …`).
fn worker_url(options: &LeptosOptions, hashes: &str) -> Option<String> {
    let hash = |kind: &str| {
        hashes.lines().find_map(|line| {
            let (file, hash) = line.split_once(':')?;
            (file.trim() == kind).then(|| hash.trim().to_owned())
        })
    };
    let (js, wasm, css) = (hash("js")?, hash("wasm")?, hash("css")?);
    let (pkg, name) = (&options.site_pkg_dir, &options.output_name);
    // base64url hashes: safe in a query string as they are.
    Some(format!(
        "/sw.js?v={js}.{wasm}.{css}&asset=/{pkg}/{name}.{js}.js&asset=/{pkg}/{name}.{wasm}.wasm\
         &asset=/{pkg}/{name}.{css}.css"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_address_names_the_version_and_every_hashed_asset() {
        let options = LeptosOptions::builder().output_name("natter").build();
        let url = worker_url(&options, "js: J1\nwasm: W2\ncss: C3\n");
        assert_eq!(
            url.as_deref(),
            Some(
                "/sw.js?v=J1.W2.C3&asset=/pkg/natter.J1.js&asset=/pkg/natter.W2.wasm\
                 &asset=/pkg/natter.C3.css"
            )
        );
    }

    #[test]
    fn a_hash_file_missing_a_line_gives_no_worker() {
        let options = LeptosOptions::builder().output_name("natter").build();
        assert_eq!(worker_url(&options, "js: J1\nwasm: W2\n"), None);
    }
}
