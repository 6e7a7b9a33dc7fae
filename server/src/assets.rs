//! The site's built files under `/pkg` (the wasm, its JS glue and the stylesheet, written by
//! cargo-leptos into `target/site/pkg`) and the caching rules of every response.
//!
//! Files are sent exactly as they are on disk: the `.br` (or `.gz`) copy beside a file when the
//! client accepts it, written once at release time (`cargo leptos build --release
//! --precompress`, brotli quality 11); they are never compressed per request (the compression
//! layer skips any response marked [`StaticFile`]). A build with `hash-files` names them after
//! their content, so they are cached for a year and never revalidated; every other response
//! (pages, the service worker, the manifest, the API) must be revalidated (`no-cache`).
//! `/sw.js`, the service worker, gets a policy of its own: a worker obeys the
//! `Content-Security-Policy` of its script's response, and the default one (`default-src
//! 'none'`) would forbid the `fetch` it caches with. Other files of `public/` are served by the
//! Leptos fallback, precompressed as well.

use axum::Router;
use axum::http::{HeaderValue, Response, StatusCode, header};
use leptos::config::LeptosOptions;
use tower::ServiceBuilder;
use tower_http::services::{ServeDir, ServeFile};

use crate::state::AppState;

/// `Cache-Control` of a file whose name carries its content hash.
pub const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// `Cache-Control` of everything else: any cache must ask the server before reusing it.
pub const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");

/// Marks a response served from disk: the compression layer leaves it as it is.
#[derive(Clone, Copy, Debug)]
pub struct StaticFile;

/// What the service worker may do: fetch from this origin (to cache the app), nothing else.
const WORKER_POLICY: HeaderValue =
    HeaderValue::from_static("default-src 'none'; connect-src 'self'; frame-ancestors 'none'");

/// `GET /pkg/*`: the built files, precompressed, immutable when their names are hashed.
/// `GET /sw.js`: the service worker (`public/sw.js`), with its policy.
pub fn routes(options: &LeptosOptions) -> Router<AppState> {
    let site = std::path::Path::new(&*options.site_root);
    let dir = site.join(&*options.site_pkg_dir);
    let hashed = options.hash_files;
    let worker = ServiceBuilder::new()
        .map_response(|mut response: Response<_>| {
            response.extensions_mut().insert(StaticFile);
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_SECURITY_POLICY, WORKER_POLICY);
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            response
        })
        .service(
            ServeFile::new(site.join("sw.js"))
                .precompressed_br()
                .precompressed_gzip(),
        );
    let files = ServiceBuilder::new()
        .map_response(move |mut response: Response<_>| {
            response.extensions_mut().insert(StaticFile);
            // The body depends on Accept-Encoding (the .br, the .gz or the file itself).
            response
                .headers_mut()
                .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            let found = matches!(
                response.status(),
                StatusCode::OK | StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED
            );
            // Unhashed names (a build without `hash-files`) keep the default, `no-cache`.
            if hashed && found {
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, IMMUTABLE);
            }
            response
        })
        .service(ServeDir::new(dir).precompressed_br().precompressed_gzip());
    Router::new()
        .nest_service(&format!("/{}", options.site_pkg_dir), files)
        .route_service("/sw.js", worker)
}

/// Whether the compression layer may compress `extensions`' response: not a file from disk.
pub fn compressible(
    _: StatusCode,
    _: axum::http::Version,
    _: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
) -> bool {
    extensions.get::<StaticFile>().is_none()
}
