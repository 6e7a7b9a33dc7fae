//! The chat core's tests, one binary. Modules are `cfg(test)` so that lints treat them as
//! test code (unwrap allowed), as they do unit tests.

#[cfg(test)]
mod chat;
#[cfg(test)]
mod relay;
