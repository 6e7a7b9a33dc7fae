//! The one way natter takes a `std::sync::Mutex`.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, keeping its data if a panic poisoned it. Every mutex in natter guards state
/// that is valid between any two statements and is held for a few statements with no await and
/// nothing that panics, so a poisoned lock is no reason to stop serving.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
